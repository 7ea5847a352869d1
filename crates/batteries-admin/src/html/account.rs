//! Login, logout, password change and the index.

use std::collections::HashMap;

use batteries_auth::entities::user;
use batteries_auth::hashers::{HashError, check_password_async};
use batteries_auth::sessions::{self};
use batteries_auth::{Credentials, UserManager};
use batteries_middleware::guard::safe_next;
use http::{Method, Response, StatusCode};
use serde_json::json;

use super::{Unavailable, View, busy, form_value, unavailable};
use crate::body::AdminBody;
use crate::response::plain;
use crate::response::redirect;
use crate::service::password::{Slot, check_new_password};
use crate::service::request::Staff;

impl View<'_> {
    pub(super) async fn login(&self) -> Response<AdminBody> {
        let index = format!("{}/", self.site.prefix);
        let query = self.req.query_pairs();
        let form = self.req.form_pairs();
        let next_raw = if self.req.method == Method::POST {
            form_value(&form, "next")
        } else {
            form_value(&query, "next")
        }
        .unwrap_or_default();
        let next = safe_next(&next_raw).unwrap_or(&index).to_owned();
        if self.req.method == Method::GET {
            match self.req.staff().await {
                Ok(Some(_)) => return redirect(&next),
                Ok(None) => {}
                // Not "nobody is logged in": the store failed.
                Err(Unavailable) => return super::unavailable(),
            }
            let mut ctx = self.context(None, "Log in").await;
            ctx.insert("next".into(), json!(next));
            return self.render(StatusCode::OK, "login.html", ctx);
        }
        if self.req.method != Method::POST {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.");
        }
        let username = form_value(&form, "username").unwrap_or_default();
        let password = form_value(&form, "password").unwrap_or_default();
        let credentials = Credentials::new(username.clone(), password);
        let user = match self
            .site
            .authenticator
            .authenticate_from(&credentials, self.req.client_ip)
            .await
        {
            Ok(user) => user,
            Err(e) if e.is_busy() => return busy(),
            Err(e) => {
                tracing::warn!(error = %e, "admin login failed to run");
                return unavailable();
            }
        };
        match user {
            Some(user) if user.is_active && user.is_staff => {
                if sessions::login(&self.session, &user, &self.site.secret)
                    .await
                    .is_err()
                {
                    return unavailable();
                }
                redirect(&next)
            }
            _ => {
                let mut ctx = self.context(None, "Log in").await;
                ctx.insert("next".into(), json!(next));
                ctx.insert("username".into(), json!(username));
                ctx.insert(
                    "error".into(),
                    json!(
                        "Please enter the correct username and password for a staff account. \
                         Note that both fields may be case-sensitive."
                    ),
                );
                self.render(StatusCode::OK, "login.html", ctx)
            }
        }
    }

    pub(super) async fn logout(&self) -> Response<AdminBody> {
        if self.req.method != Method::POST {
            return plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "Log out with the button in the admin's header (a POST form).",
            );
        }
        if sessions::logout(&self.session).await.is_err() {
            return unavailable();
        }
        self.push_message("info", "You have been logged out.").await;
        redirect(&format!("{}/login/", self.site.prefix))
    }

    pub(super) async fn password_change(&self, staff: &Staff) -> Response<AdminBody> {
        let title = "Password change";
        let mut ctx = self.context(Some(staff), title).await;
        ctx.insert(
            "breadcrumbs".into(),
            self.breadcrumbs(None, &[(title, None)]),
        );
        if self.req.method != Method::POST {
            return self.render(StatusCode::OK, "password_change.html", ctx);
        }
        let form = self.req.form_pairs();
        let get = |k: &str| form_value(&form, k).unwrap_or_default();
        let (old, new1, new2) = (
            get("old_password"),
            get("new_password1"),
            get("new_password2"),
        );
        let mut errors: HashMap<&str, Vec<String>> = HashMap::new();
        let Some(current) = &self.req.current else {
            return unavailable();
        };
        let Ok(Some(model)) = current.user_as::<user::Model>().await else {
            errors.insert(
                "__all__",
                vec!["This user model's password cannot be changed here.".into()],
            );
            ctx.insert("errors".into(), json!(errors));
            return self.render(StatusCode::OK, "password_change.html", ctx);
        };
        let old_matches = match check_password_async(old, model.password.clone()).await {
            Ok(matches) => matches,
            Err(HashError::Busy) => return busy(),
            Err(_) => false,
        };
        if !old_matches {
            errors.insert(
                "old_password",
                vec!["Your old password was entered incorrectly. Please enter it again.".into()],
            );
        }
        for (slot, messages) in check_new_password(&new1, &new2, Some(model.as_ref())) {
            let name = match slot {
                Slot::First => "new_password1",
                Slot::Second => "new_password2",
            };
            errors.entry(name).or_default().extend(messages);
        }
        if !errors.is_empty() {
            ctx.insert("errors".into(), json!(errors));
            return self.render(StatusCode::OK, "password_change.html", ctx);
        }
        let updated = match UserManager::new()
            .set_password(&self.registry.db, (*model).clone(), Some(&new1))
            .await
        {
            Ok(updated) => updated,
            Err(e) if e.is_busy() => return busy(),
            Err(_) => return unavailable(),
        };
        if sessions::update_session_auth_hash(&self.session, &updated, &self.site.secret)
            .await
            .is_err()
        {
            return unavailable();
        }
        ctx.insert("done".into(), json!(true));
        self.render(StatusCode::OK, "password_change.html", ctx)
    }

    // --- index ------------------------------------------------------------------------

    pub(super) async fn index(&self, staff: &Staff) -> Response<AdminBody> {
        let mut ctx = self.context(Some(staff), "Site administration").await;
        // The same list as the navigation's.
        let apps = ctx.get("nav").cloned().unwrap_or_else(|| json!([]));
        ctx.insert("apps".into(), apps);
        self.render(StatusCode::OK, "index.html", ctx)
    }
}
