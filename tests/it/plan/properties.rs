//! Property tests: parsing and validation never panic, waves respect dependencies.

use super::*;

// ---------------------------------------------------------------------------------------------
// Properties

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![Just("id"), Just("task"), Just("depends_on"), Just("1")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("task".to_string()),
                    Just("depends_on".to_string()),
                    ".{0,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Task lists shaped like real ones: small id alphabet (so duplicates and unknown ids happen),
/// dependencies anywhere (so forward deps and cycles happen), texts with references.
fn arb_list() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just("Write the parser".to_string()),
        Just("Fix task 2 and the previous step".to_string()),
        Just("".to_string()),
        Just("-v walk me through it".to_string()),
        "[a-z ]{0,30}",
        ".{0,60}",
    ];
    let id = prop_oneof![Just(None), (0u8..12).prop_map(|i| Some(format!("{i}")))];
    let deps = prop::collection::vec((0u8..12).prop_map(|i| format!("{i}")), 0..4);
    let item = prop_oneof![
        text.clone().prop_map(Value::String),
        (id, text, prop::option::of(deps)).prop_map(|(id, task, deps)| {
            let mut m = serde_json::Map::new();
            if let Some(id) = id {
                m.insert("id".into(), json!(id));
            }
            m.insert("task".into(), json!(task));
            if let Some(d) = deps {
                m.insert("depends_on".into(), json!(d));
            }
            Value::Object(m)
        }),
    ];
    prop::collection::vec(item, 0..14).prop_map(Value::Array)
}

/// Markdown made of the pieces the parser cares about, in any order.
fn arb_markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("- "),
        Just("1. "),
        Just("* "),
        Just("  "),
        Just("\t"),
        Just("[a] "),
        Just("[ ] "),
        Just("[b"),
        Just("(depends: a)"),
        Just("(depends: a, b"),
        Just("(after: x y)"),
        Just("```"),
        Just("# "),
        Just("<!-- "),
        Just("-->"),
        Just("---"),
        Just("task 1 "),
        Just("é"),
        Just("\n"),
        Just("\n\n"),
        Just("text "),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn markdown_parsing_never_panics(text in arb_markdown()) {
        match parse_markdown(&text) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    prop_assert_eq!(item.position, i + 1);
                    prop_assert!(item.line.is_some());
                }
                let r = block(planner().validate_items(&items));
                prop_assert_eq!(r.valid, r.errors.is_empty());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn validation_never_panics_on_arbitrary_json(v in arb_json()) {
        let r = validate(v.clone());
        prop_assert_eq!(r.valid, r.errors.is_empty());
        let s = block(planner().strategy(&v));
        prop_assert_eq!(s.valid, r.valid);
        let _ = serde_json::from_value::<TaskInput>(v);
    }

    #[test]
    fn waves_respect_every_dependency(v in arb_list()) {
        let r = validate(v.clone());
        prop_assert_eq!(r.valid, r.errors.is_empty());
        let s = block(planner().strategy(&v));
        if s.valid {
            let wave_of: HashMap<&str, usize> = s.tasks.iter().map(|t| (t.id.as_str(), t.wave.unwrap())).collect();
            // Every task exactly once.
            let mut seen = HashSet::new();
            for w in &s.waves {
                for id in &w.task_ids {
                    prop_assert!(seen.insert(id.clone()), "{} twice", id);
                    prop_assert_eq!(wave_of[id.as_str()], w.number);
                }
            }
            prop_assert_eq!(seen.len(), s.tasks.len());
            // Dependencies in strictly earlier waves.
            for t in &s.tasks {
                for d in &t.depends_on {
                    prop_assert!(wave_of[d.as_str()] < wave_of[t.id.as_str()], "{} -> {}", t.id, d);
                }
            }
        } else {
            prop_assert!(!s.errors.is_empty());
        }
    }

    #[test]
    fn markdown_and_text_parsing_never_panic(text in "(.{0,20}\n){0,12}", fmt in 0u8..4) {
        let format = match fmt { 0 => Some(InputFormat::Json), 1 => Some(InputFormat::Yaml), 2 => Some(InputFormat::Markdown), _ => None };
        if let Ok(file) = parse_task_text(&text, format) {
            let r = block(planner().validate_items(&file.items));
            prop_assert_eq!(r.valid, r.errors.is_empty());
        }
    }
}
