//! Unit tests for the report module.
use super::*;
