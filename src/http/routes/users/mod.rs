//! Users (tenants), their API keys, and the login behind the docs and dashboard cookie.

pub mod admin;
pub mod keys;
pub mod login;
