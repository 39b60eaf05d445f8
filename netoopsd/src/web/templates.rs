//! The page templates (minijinja), compiled into the binary.

use minijinja::Environment;
use serde_json::Value;

/// (name, source) of every template.
const TEMPLATES: [(&str, &str); 6] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("buckets.html", include_str!("../../templates/buckets.html")),
    ("bucket.html", include_str!("../../templates/bucket.html")),
    ("report.html", include_str!("../../templates/report.html")),
    ("machine.html", include_str!("../../templates/machine.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

/// The templates, HTML-escaped by default.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
}

/// Renders `name` with `ctx`.
pub fn render(env: &Environment<'static>, name: &str, ctx: &Value) -> Result<String, String> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("template {name}: {e:#}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_compile() {
        let _ = super::environment();
    }
}
