//! The one integration-test binary (`autotests = false`): every suite is a
//! module here, so a change relinks one test executable instead of twenty.
//! Each module drives the real `afk` binary against `afk sandbox` (so the
//! binary is `required-features = ["test-world"]`); `production_build` builds
//! the product without it.

#[macro_use]
mod support;

mod agent_box;
mod agent_image;
mod agent_text;
mod agents;
mod audit;
mod azure_devops;
mod azure_hook;
mod azure_poll;
mod azure_watch;
mod bounded_lists;
mod budget;
mod budget_pause;
mod commands;
mod contract;
mod contract_azure;
mod contract_gitlab;
mod contract_gitlab_answers;
mod contract_kubernetes;
mod contract_published;
mod contract_reviews;
mod contrib;
mod conversation;
mod corpora;
mod docs_examples;
mod doctor;
mod dry;
mod exit_codes;
mod extreme_dates;
mod faults;
mod figures;
mod forge_reviews;
mod gateway_closed;
mod gateway_secrets;
mod gateway_tls;
mod github;
mod github_app;
mod gitlab_nested;
mod gitlab_pipelines;
mod hardening;
mod harvest;
mod hook;
mod hook_burst;
mod kube_gateway;
mod kube_workspace;
mod kubernetes;
mod lessons;
mod metered;
mod metrics;
mod operator;
mod operator3;
mod otlp_export;
mod poll;
mod production_build;
mod real_agents;
mod real_gateway;
mod rearm;
mod redaction;
mod registry;
mod report;
mod runner_faults;
mod runner_http;
mod runs;
mod sandbox_ci;
mod scripted_model;
mod secret_push;
mod status_issue;
mod status_page;
mod style;
pub mod summaries;
mod survival;
mod telemetry;
mod telemetry_config;
mod template;
mod text_out;
mod tracker_jira;
mod tracker_linear;
mod upgrade;
mod upgrade_current;
mod watch;
mod workspace;
