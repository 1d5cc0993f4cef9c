//! Configuration: under construction in this commit.
