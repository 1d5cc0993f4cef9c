//! cli: under construction in this commit.
