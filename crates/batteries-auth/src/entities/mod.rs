//! Entities for Django's `contrib.auth` and `contenttypes` tables, with Django's table
//! and column names and types, so a database that Django migrated works unchanged.
//!
//! | entity | table |
//! | --- | --- |
//! | [`user`] | `auth_user` |
//! | [`group`] | `auth_group` |
//! | [`permission`] | `auth_permission` |
//! | [`content_type`] | `django_content_type` |
//! | [`user_groups`] | `auth_user_groups` |
//! | [`group_permissions`] | `auth_group_permissions` |
//! | [`user_permissions`] | `auth_user_user_permissions` |

pub mod content_type;
pub mod group;
pub mod group_permissions;
pub mod permission;
pub mod user;
pub mod user_groups;
pub mod user_permissions;
