//! Integration tests of the `amso` server, linked into one test binary (one link, one
//! copy of the dependencies on disk): the HTTP surface, the database layer, the model
//! pipeline and the decision pipeline, each on a real SQLite file and, when the test command
//! started one, a real PostgreSQL server.

mod authz;
mod common;
mod dashboards;
mod db;
mod engine;
mod golden;
mod http;
mod models;
mod pipeline;
mod radar;
mod reliability;
mod reports;
mod review;
mod rules;
mod security;
mod synthetic;
mod team;
