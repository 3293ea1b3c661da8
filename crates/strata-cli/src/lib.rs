//! strata-cli
