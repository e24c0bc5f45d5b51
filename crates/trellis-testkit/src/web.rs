//! A visitor of the web pages over plain HTTP: it keeps cookies as a
//! browser does (session and CSRF), reads the CSRF field from the last page
//! it opened and sends it with its forms, and never follows redirects, so
//! a test sees where each answer leads.

use crate::TestApp;
use reqwest::header::LOCATION;
use reqwest::{redirect, Response, StatusCode};
use std::sync::Mutex;
use trellis_domain::dedupe::Email;
use trellis_store::{NewStaffUser, Role, StaffUser};

/// Every staff user the tests make has this password.
pub const STAFF_PASSWORD: &str = "a long test password";

pub struct Visitor {
    http: reqwest::Client,
    base: String,
    csrf: Mutex<String>,
}

impl Visitor {
    /// A visitor with no cookies yet.
    pub fn new(app: &TestApp) -> Visitor {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .expect("client");
        Visitor {
            http,
            base: app.base.clone(),
            csrf: Mutex::new(String::new()),
        }
    }

    /// Opens a page; remembers its CSRF field for the next form.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        let html = response.text().await.expect("html");
        if let Some(token) = csrf_field(&html) {
            *self.csrf.lock().expect("csrf") = token;
        }
        (status, html)
    }

    /// A plain GET, redirects not followed.
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get")
    }

    /// Posts a form with the CSRF field of the last page opened.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = self.csrf.lock().expect("csrf").clone();
        self.post_with_csrf(path, &csrf, fields).await
    }

    /// Posts a form with the given CSRF field (to test a wrong one).
    pub async fn post_with_csrf(
        &self,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        self.http
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .expect("post")
    }
}

/// The `Set-Cookie` header that sets `name`, whole.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Where a redirect leads.
pub fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().expect("location")
}

/// The value of the page's hidden `csrf` field.
fn csrf_field(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

impl TestApp {
    /// Adds a staff user with [`STAFF_PASSWORD`].
    pub async fn staff_user(&self, name: &str, email: &str, role: Role) -> StaffUser {
        let hash = trellis_server::passwords::hash(STAFF_PASSWORD).expect("hash");
        let email = Email::parse(email).expect("email");
        let new = NewStaffUser {
            email: &email,
            name,
            role,
            password_hash: Some(&hash),
        };
        self.store
            .create_staff_user(&new, self.clock.now())
            .await
            .expect("staff user")
    }

    /// A visitor signed in to the staff workspace through its sign-in form
    /// as a new staff user with `role`.
    pub async fn staff_visitor(&self, role: Role) -> Visitor {
        let email = format!("{}@vendor.example", role.as_str());
        self.staff_user("Sam Staff", &email, role).await;
        let visitor = Visitor::new(self);
        visitor.page("/staff/sign-in").await;
        let fields = [("email", email.as_str()), ("password", STAFF_PASSWORD)];
        let signed_in = visitor.post("/staff/sign-in", &fields).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "signed in");
        visitor
    }
}
