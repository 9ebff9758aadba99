-- One database per service: each service owns its data and talks to the others only via Kafka.
CREATE DATABASE intake;
CREATE DATABASE assessment;
CREATE DATABASE placement;
CREATE DATABASE scheduling;
CREATE DATABASE notification;
CREATE DATABASE journey;
CREATE DATABASE interop;
