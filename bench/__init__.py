"""`make bench`: the Carepath pipeline under open-loop load, measured against raw aiokafka
baselines (B0, B1) on the same broker in the same run."""
