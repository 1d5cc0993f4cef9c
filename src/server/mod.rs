//! server: under construction in this commit.
