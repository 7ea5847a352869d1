//! One site on axum, actix-web and hyper: the conformance suite, database faults under the
//! apps, and several app processes sharing state.

mod conformance;
mod db_faults_apps;
mod multi_instance;
