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
    use serde_json::json;

    #[test]
    fn templates_compile() {
        let _ = super::environment();
    }

    #[test]
    fn symbolized_frames_render_with_their_locations() {
        let env = super::environment();
        let v = json!({
            "id": 7, "title": "BUG in <x>", "frames": [],
            "symbolized": {"status": "found", "status_text": "debug info: /d/vmlinux.debug",
                "frames": [{"text": "lkdtm_BUG+0x4/0x6", "rip": true, "unreliable": false,
                    "locations": [
                        {"function": "inl", "file": "drivers/a.c", "line": 10, "inlined": true},
                        {"function": "lkdtm_BUG", "file": "drivers/b.c", "line": 132, "inlined": false}]},
                    {"text": "? foo+0x1/0x2", "rip": false, "unreliable": true, "locations": []}],
                "log_frames": ["ignored"]},
            "log_html": "",
        });
        let html = super::render(&env, "report.html", &v)
            .unwrap()
            .replace("&#x2f;", "/");
        assert!(html.contains("BUG in &lt;x&gt;"), "titles are escaped");
        assert!(html.contains("(inlined) inl at drivers/a.c:10"), "{html}");
        assert!(html.contains("lkdtm_BUG at drivers/b.c:132"));
        assert!(html.contains("debug info: /d/vmlinux.debug"));
        assert!(html.contains("<li class=\"muted\" title=\"unreliable frame\">? foo+0x1/0x2</li>"));
        assert!(
            !html.contains("ignored"),
            "log frames only when nothing is symbolized"
        );
    }
}
