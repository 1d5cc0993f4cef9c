//! accounts: under construction in this commit.
