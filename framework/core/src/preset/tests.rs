//! Tests of presets: overrides, grid order, field errors.

use super::*;
use serde_json::json;

#[test]
fn overrides_reach_nested_fields_and_lists() {
    let mut v = json!({"strong_train": {"lr": 1.0}, "seeds": [0, 1], "task": {"kind": "sentiment"}});
    apply_override(&mut v, "strong_train.lr=1e-4").unwrap();
    apply_override(&mut v, "seeds=[3]").unwrap();
    apply_override(&mut v, "task.n_train=200").unwrap();
    apply_override(&mut v, "weak.kind=bow").unwrap();
    let mut listed = json!({"task": [{"kind": "sentiment"}], "objective": ["xent", "logconf"]});
    apply_override(&mut listed, "task.n_test=50").unwrap();
    assert_eq!(listed["task"][0]["n_test"], json!(50));
    let err = apply_override(&mut listed, "objective.aux_coef=1").unwrap_err().to_string();
    assert!(err.contains("list of 2") && err.contains("objective.0.aux_coef"), "{err}");
    assert_eq!(v["strong_train"]["lr"], json!(1e-4));
    assert_eq!(v["seeds"], json!([3]));
    assert_eq!(v["task"]["n_train"], json!(200));
    assert_eq!(v["weak"]["kind"], json!("bow"));
    assert!(apply_override(&mut v, "seeds.5=1").unwrap_err().to_string().contains("out of range"));
    assert!(apply_override(&mut v, "novalue").is_err());
}

#[test]
fn one_or_many_and_grid_order() {
    let p: Preset = serde_json::from_value(json!({
        "task": "sentiment", "weak": "bow", "strong": "minilm",
        "labeler": "model", "objective": ["xent", "logconf"], "seeds": [0, 1]
    }))
    .unwrap();
    let runs = p.runs();
    assert_eq!(runs.len(), 4);
    assert_eq!((runs[0].objective.kind(), runs[0].seed), ("xent", 0));
    assert_eq!((runs[3].objective.kind(), runs[3].seed), ("logconf", 1));
    assert_eq!(runs[0].weak_stage_id(), runs[2].weak_stage_id(), "objectives share weak labels");
    assert_ne!(runs[0].id(), runs[2].id());
}

#[test]
fn type_errors_name_their_field_and_file_position() {
    let base = json!({"task": "t", "weak": "w", "strong": "s", "labeler": "l", "objective": "o", "seeds": 0});
    let err = |v: Value| {
        let e = Preset::from_value(v, &[]).unwrap_err();
        e.chain().find_map(|c| c.downcast_ref::<PresetFieldError>()).cloned().unwrap()
    };
    let mut v = base.clone();
    v["strong_train"] = json!({"lr": "fast"});
    let e = err(v);
    assert_eq!(e.field, "strong_train.lr");
    assert!(e.message.contains("invalid type: string \"fast\", expected f64"), "{e}");
    let mut v = base.clone();
    v["seeds"] = json!([0, "a"]);
    let e = err(v);
    assert_eq!(e.field, "seeds[1]", "{e}");
    assert!(e.message.contains("expected u64"), "{e}");
}

#[test]
fn unknown_preset_field_is_named() {
    let err = Preset::from_value(
        json!({"task": "t", "weak": "w", "strong": "s", "labeler": "l",
        "objective": "o", "seeds": 0, "strong_trian": {}}),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("strong_trian"), "{err}");
}
