"""The HTTP side every service shares: common routes and error mapping, authentication, the access
policy, input validation and minimum-necessary fields."""
