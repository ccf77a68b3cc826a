//! Writing the classifier as an ONNX model, with a minimal protobuf encoder for the few
//! ONNX messages it needs (no protobuf code generation at build time).
//!
//! The graph: `ids` (int64 [batch, features], bucket ids, padded with 0; distinct for the
//! TF-IDF form) and `weights` (float [batch, features], each id's count/n, 0 for padding) →
//! Gather(embedding) × weights → ReduceSum over features → MatMul + Add → Sigmoid →
//! `scores` (float [batch, categories]). The TF-IDF form first turns `weights` into the ad's
//! TF-IDF vector: × Gather(idf), then ÷ its L2 norm (the 1/n cancels).

use super::Weights;

/// The metadata key saying what the graph makes of `weights`: [`INPUT_TFIDF`] or `mean`.
pub const INPUT_KEY: &str = "amso.input";
/// [`INPUT_KEY`]'s value for the TF-IDF form, which needs each row's ids distinct.
pub const INPUT_TFIDF: &str = "tfidf";

/// ONNX IR version written (ONNX 1.13+).
const IR_VERSION: i64 = 8;
/// Default-domain opset used by the graph.
const OPSET: i64 = 17;

const FLOAT: i32 = 1;
const INT64: i32 = 7;

/// A protobuf message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    fn str(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    fn msg(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

fn tensor_f32(name: &str, dims: &[i64], data: &[f32]) -> Msg {
    let mut t = Msg::default();
    for d in dims {
        t.int(1, *d);
    }
    t.int(2, i64::from(FLOAT)).str(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

fn tensor_i64(name: &str, dims: &[i64], data: &[i64]) -> Msg {
    let mut t = Msg::default();
    for d in dims {
        t.int(1, *d);
    }
    t.int(2, i64::from(INT64)).str(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

/// A graph input/output: a tensor of `elem` type with symbolic or fixed dimensions.
fn value_info(name: &str, elem: i32, dims: &[Result<i64, &str>]) -> Msg {
    let mut shape = Msg::default();
    for d in dims {
        let mut dim = Msg::default();
        match d {
            Ok(v) => dim.int(1, *v),
            Err(param) => dim.str(2, param),
        };
        shape.msg(1, &dim);
    }
    let mut tensor_type = Msg::default();
    tensor_type.int(1, i64::from(elem)).msg(2, &shape);
    let mut type_proto = Msg::default();
    type_proto.msg(1, &tensor_type);
    let mut vi = Msg::default();
    vi.str(1, name).msg(2, &type_proto);
    vi
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: &[Msg]) -> Msg {
    let mut n = Msg::default();
    for i in inputs {
        n.str(1, i);
    }
    for o in outputs {
        n.str(2, o);
    }
    n.str(3, name).str(4, op);
    for a in attrs {
        n.msg(5, a);
    }
    n
}

fn attr_int(name: &str, v: i64) -> Msg {
    let mut a = Msg::default();
    a.str(1, name).int(3, v).int(20, 2);
    a
}

/// The model as ONNX bytes, with `metadata` stored as model properties.
pub fn to_onnx(weights: &Weights, metadata: &[(&str, String)]) -> Vec<u8> {
    let buckets = i64::from(weights.buckets);
    let dim = weights.dim as i64;
    let cats = weights.categories as i64;

    let mut graph = Msg::default();
    // The per-feature input values: `weights` as given, or the TF-IDF vector made from them.
    let tfidf_nodes = [
        node(
            "Gather",
            "idf_lookup",
            &["idf", "ids"],
            &["feature_idf"],
            &[attr_int("axis", 0)],
        ),
        node(
            "Mul",
            "tf_idf",
            &["weights", "feature_idf"],
            &["tf_idf"],
            &[],
        ),
        node("Mul", "square", &["tf_idf", "tf_idf"], &["tf_idf_sq"], &[]),
        node(
            "ReduceSum",
            "sum_squares",
            &["tf_idf_sq", "axis_1"],
            &["sum_sq"],
            &[attr_int("keepdims", 1)],
        ),
        node("Sqrt", "l2_norm", &["sum_sq"], &["norm"], &[]),
        node(
            "Max",
            "nonzero_norm",
            &["norm", "tiny"],
            &["norm_safe"],
            &[],
        ),
        node(
            "Div",
            "normalise",
            &["tf_idf", "norm_safe"],
            &["inputs"],
            &[],
        ),
    ];
    let inputs = if weights.idf.is_some() {
        for n in &tfidf_nodes {
            graph.msg(1, n);
        }
        "inputs"
    } else {
        "weights"
    };
    let nodes = [
        node("Unsqueeze", "weights_3d", &[inputs, "axis_2"], &["w3"], &[]),
        node(
            "Gather",
            "lookup",
            &["embedding", "ids"],
            &["vectors"],
            &[attr_int("axis", 0)],
        ),
        node("Mul", "weigh", &["vectors", "w3"], &["weighted"], &[]),
        node(
            "ReduceSum",
            "average",
            &["weighted", "axis_1"],
            &["hidden"],
            &[attr_int("keepdims", 0)],
        ),
        node(
            "MatMul",
            "project",
            &["hidden", "out_w"],
            &["logits_nobias"],
            &[],
        ),
        node("Add", "bias", &["logits_nobias", "out_b"], &["logits"], &[]),
        node("Sigmoid", "probability", &["logits"], &["scores"], &[]),
    ];
    for n in &nodes {
        graph.msg(1, n);
    }
    graph.str(2, "amso_fasttext");
    graph.msg(
        5,
        &tensor_f32("embedding", &[buckets, dim], &weights.embedding),
    );
    graph.msg(5, &tensor_f32("out_w", &[dim, cats], &weights.out_w));
    graph.msg(5, &tensor_f32("out_b", &[cats], &weights.out_b));
    graph.msg(5, &tensor_i64("axis_1", &[1], &[1]));
    graph.msg(5, &tensor_i64("axis_2", &[1], &[2]));
    if let Some(idf) = &weights.idf {
        graph.msg(5, &tensor_f32("idf", &[buckets], idf));
        graph.msg(5, &tensor_f32("tiny", &[1], &[1e-12]));
    }
    graph.msg(
        11,
        &value_info("ids", INT64, &[Err("batch"), Err("features")]),
    );
    graph.msg(
        11,
        &value_info("weights", FLOAT, &[Err("batch"), Err("features")]),
    );
    graph.msg(12, &value_info("scores", FLOAT, &[Err("batch"), Ok(cats)]));

    let mut opset = Msg::default();
    opset.str(1, "").int(2, OPSET);

    let mut model = Msg::default();
    model
        .int(1, IR_VERSION)
        .str(2, "amso")
        .str(3, env!("CARGO_PKG_VERSION"))
        .str(4, "ai.amso")
        .int(5, 1)
        .str(6, "fastText-style multi-label ad policy classifier")
        .msg(7, &graph)
        .msg(8, &opset);
    for (key, value) in metadata {
        let mut entry = Msg::default();
        entry.str(1, key).str(2, value);
        model.msg(14, &entry);
    }
    model.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_encode_like_protobuf() {
        let mut m = Msg::default();
        m.varint(1);
        m.varint(300);
        assert_eq!(m.0, vec![0x01, 0xac, 0x02]);
        let mut m = Msg::default();
        m.int(1, 8);
        assert_eq!(m.0, vec![0x08, 0x08]);
    }
}
