//! auth: under construction in this commit.
