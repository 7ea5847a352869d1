//! Guards for scopes and resources: [`RequireLogin`] and [`RequirePerm`], answering as
//! the tower guards do (redirect with `next=`, `401` or `403`).

use std::borrow::Cow;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use batteries_middleware::auth::CurrentUser;
use batteries_middleware::guard::{Denial, login_required, permission_denied};
use futures_util::future::LocalBoxFuture;

use crate::convert::{headers_in, response_out, uri_in};

/// Lets only logged-in users through (Django's `login_required`).
#[derive(Debug, Clone)]
pub struct RequireLogin {
    denial: Rc<Denial>,
}

impl RequireLogin {
    /// Denied requests are answered as `denial` says.
    pub fn new(denial: Denial) -> Self {
        Self {
            denial: Rc::new(denial),
        }
    }
}

/// Lets only users with a permission through (Django's `permission_required`).
#[derive(Debug, Clone)]
pub struct RequirePerm {
    perm: Cow<'static, str>,
    denial: Rc<Denial>,
}

impl RequirePerm {
    /// Requires `perm` (`"app_label.codename"`).
    pub fn new(perm: impl Into<Cow<'static, str>>, denial: Denial) -> Self {
        Self {
            perm: perm.into(),
            denial: Rc::new(denial),
        }
    }
}

/// The service made by [`RequireLogin`] and [`RequirePerm`].
pub struct GuardMiddleware<S> {
    service: Rc<S>,
    perm: Option<Cow<'static, str>>,
    denial: Rc<Denial>,
}

macro_rules! transform {
    ($ty:ty, $perm:expr) => {
        impl<S, B> Transform<S, ServiceRequest> for $ty
        where
            S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
            B: MessageBody + 'static,
        {
            type Response = ServiceResponse<EitherBody<B>>;
            type Error = Error;
            type Transform = GuardMiddleware<S>;
            type InitError = ();
            type Future = Ready<Result<Self::Transform, Self::InitError>>;

            fn new_transform(&self, service: S) -> Self::Future {
                #[allow(clippy::redundant_closure_call)]
                let perm = ($perm)(self);
                ready(Ok(GuardMiddleware {
                    service: Rc::new(service),
                    perm,
                    denial: self.denial.clone(),
                }))
            }
        }
    };
}

transform!(RequireLogin, |_: &RequireLogin| None);
transform!(RequirePerm, |g: &RequirePerm| Some(g.perm.clone()));

impl<S, B> Service<ServiceRequest> for GuardMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let perm = self.perm.clone();
        let denial = self.denial.clone();
        Box::pin(async move {
            let user = req
                .extensions()
                .get::<CurrentUser>()
                .cloned()
                .unwrap_or_else(CurrentUser::anonymous);
            let headers = headers_in(req.headers());
            if !user.is_authenticated() {
                let response = login_required(&denial, &uri_in(req.uri()), &headers);
                return Ok(req
                    .into_response(response_out(response))
                    .map_into_right_body());
            }
            if let Some(perm) = perm {
                let allowed = match user.has_perm(&perm).await {
                    Ok(allowed) => allowed,
                    Err(error) => {
                        tracing::error!(%error, "could not load permissions");
                        let response = batteries_middleware::unavailable(
                            "Permissions are unavailable; please try again.",
                        );
                        return Ok(req
                            .into_response(response_out(response))
                            .map_into_right_body());
                    }
                };
                if !allowed {
                    let response = permission_denied(&denial, &headers);
                    return Ok(req
                        .into_response(response_out(response))
                        .map_into_right_body());
                }
            }
            Ok(service.call(req).await?.map_into_left_body())
        })
    }
}
