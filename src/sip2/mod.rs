//! sip2: under construction in this commit.
