//! Known answers for GGUF dequantization: random blocks of every quantized type, dequantized by
//! llama.cpp's gguf-py (`gguf.quants.dequantize`), in `fixtures/quants.json` (made by
//! `scripts/make-quant-fixtures.py`). Q8_K, which gguf-py does not dequantize, is checked by hand.

use w2s_models::format::ggml::{dequantize, TensorInfo, GGML_Q8_K};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn every_quantized_type_matches_gguf_py() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quants.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let types = fixture["types"].as_object().unwrap();
    for t in ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"] {
        let case = &types[t];
        let n = case["elements"].as_u64().unwrap();
        let info = TensorInfo {
            name: format!("blk.0.{t}"),
            dims: vec![n],
            kind: case["ggml_type"].as_u64().unwrap() as u32,
            offset: 0,
        };
        let got = dequantize(&info, &hex(case["bytes"].as_str().unwrap())).unwrap();
        let want: Vec<f32> = case["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        assert_eq!(got.len(), want.len(), "{t}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // The same f32 operations in a possibly different order: a few ulps at most.
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-3), "{t} element {i}: {g} vs gguf-py {w}");
        }
    }
}

#[test]
fn q8_k_is_its_scale_times_its_bytes() {
    // d = 0.25 (f32), q = -128..=127, then 32 bytes of block sums that do not enter the values.
    let mut b = 0.25f32.to_le_bytes().to_vec();
    b.extend((0..256i32).map(|i| (i - 128) as i8 as u8));
    b.extend([0xff; 32]);
    let info = TensorInfo { name: "q8k".into(), dims: vec![256], kind: GGML_Q8_K, offset: 0 };
    let v = dequantize(&info, &b).unwrap();
    assert_eq!((v[0], v[128], v[255]), (-32.0, 0.0, 31.75));
}

/// Every tensor of a real k-quantised file (Gemma 3 270M, Q4_K_M: F32, Q8_0, Q5_0, Q4_K and Q6_K
/// tensors) read by w2s's GGUF reader against gguf-py's dequantization of the same file:
/// element count, sum, sum of squares and first values (`fixtures/gemma-3-270m-q4_k_m.stats.json`,
/// from `scripts/make-quant-fixtures.py FILE OUT`). Reads the fetched `gemma3` asset (fetched on
/// demand; not redistributed here), or the file `W2S_GEMMA3_GGUF` names.
#[test]
fn a_real_k_quantised_file_matches_gguf_py_tensor_by_tensor() {
    let path = match std::env::var("W2S_GEMMA3_GGUF") {
        Ok(p) => p,
        Err(_) => w2s_core::Env::from_env()
            .asset_dir("gemma3")
            .unwrap()
            .join("gemma-3-270m-q4_k_m.gguf")
            .display()
            .to_string(),
    };
    let gguf = w2s_models::format::gguf::Gguf::open(std::path::Path::new(&path)).unwrap();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemma-3-270m-q4_k_m.stats.json"))
            .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let stats = fixture["tensors"].as_object().unwrap();
    assert_eq!(gguf.tensors.len(), stats.len());
    for (name, want) in stats {
        let t = gguf.tensor(name).unwrap();
        let v: Vec<f32> = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
        assert_eq!(v.len() as u64, want["elements"].as_u64().unwrap(), "{name}");
        let sum: f64 = v.iter().map(|&x| x as f64).sum();
        let sumsq: f64 = v.iter().map(|&x| x as f64 * x as f64).sum();
        let (ws, wq) = (want["sum"].as_f64().unwrap(), want["sumsq"].as_f64().unwrap());
        assert!((sum - ws).abs() <= 1e-6 * wq.sqrt().max(1.0) * (v.len() as f64).sqrt(), "{name}: sum {sum} vs {ws}");
        assert!((sumsq - wq).abs() <= 1e-5 * wq.max(1e-12), "{name}: sum of squares {sumsq} vs {wq}");
        for (i, w) in want["first"].as_array().unwrap().iter().enumerate() {
            let w = w.as_f64().unwrap() as f32;
            assert!((v[i] - w).abs() <= 1e-6 * w.abs().max(1e-3), "{name}[{i}]: {} vs {w}", v[i]);
        }
    }
}
