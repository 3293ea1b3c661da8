//! Prometheus remote write 1.0 on the wire: a `prometheus.WriteRequest` protobuf message,
//! snappy-compressed (block format, not framed), POSTed with the headers the specification
//! requires.
//!
//! Only the fields Strata sends are declared (field numbers as in Prometheus'
//! `prompb/remote.proto` and `prompb/types.proto`); labels of a series are sorted by name, as
//! the specification requires.

/// `prometheus.WriteRequest` (field 2 is reserved; metadata, field 3, is not sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries` (native histograms, field 4, are not sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`: a value at a unix time in milliseconds.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// Request headers of every remote-write POST (besides `User-Agent` and configured ones).
pub const HEADERS: [(&str, &str); 3] = [
    ("content-encoding", "snappy"),
    ("content-type", "application/x-protobuf"),
    ("x-prometheus-remote-write-version", "0.1.0"),
];

/// `req` as a request body: protobuf, then snappy.
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    use prost::Message;
    let raw = req.encode_to_vec();
    // Compressing an in-memory buffer only fails for inputs larger than snap's limit
    // (about 4 GiB), which a send never approaches (max_samples_per_send bounds it).
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// A request body back into its series (tests, and anyone checking what was sent).
pub fn decode(body: &[u8]) -> Result<WriteRequest, String> {
    use prost::Message;
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_decodes_to_what_was_encoded() {
        let s = TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "x_total".into(),
                },
                Label {
                    name: "a".into(),
                    value: "b".into(),
                },
            ],
            samples: vec![Sample {
                value: 3.0,
                timestamp: 1_700_000_000_000,
            }],
            exemplars: vec![],
        };
        let body = encode(&WriteRequest {
            timeseries: vec![s.clone()],
        });
        assert_eq!(decode(&body).unwrap().timeseries, vec![s]);
        assert!(decode(b"not snappy").is_err());
    }
}
