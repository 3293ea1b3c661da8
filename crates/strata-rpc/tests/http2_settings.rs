//! The HTTP/2 settings a Strata gRPC server advertises, read off the wire of a real server:
//! the SETTINGS frame it sends after the client's connection preface.

mod common;

use std::time::Duration;

use common::{IngesterFixture, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_SETTINGS: u8 = 0x4;
const FLAG_ACK: u8 = 0x1;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

/// Reads frames until the server's first non-ACK SETTINGS frame; returns its (id, value) pairs.
async fn server_settings(stream: &mut tokio::net::TcpStream) -> Vec<(u16, u32)> {
    loop {
        let mut header = [0u8; 9];
        stream.read_exact(&mut header).await.unwrap();
        let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0u8; len];
        stream.read_exact(&mut payload).await.unwrap();
        if header[3] == FRAME_SETTINGS && header[4] & FLAG_ACK == 0 {
            assert_eq!(len % 6, 0, "a SETTINGS payload is a list of 6-byte entries");
            return payload
                .chunks(6)
                .map(|c| {
                    (
                        u16::from_be_bytes([c[0], c[1]]),
                        u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                    )
                })
                .collect();
        }
    }
}

#[tokio::test]
async fn the_server_accepts_one_mebibyte_frames() {
    let fixture = IngesterFixture::new();
    let server = Server::start(fixture.conn(), 16 << 20).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(PREFACE).await.unwrap();
    // An empty SETTINGS frame: the client keeps every default.
    stream
        .write_all(&[0, 0, 0, FRAME_SETTINGS, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let settings = tokio::time::timeout(Duration::from_secs(10), server_settings(&mut stream))
        .await
        .expect("the server sent no SETTINGS frame");
    let max_frame = settings
        .iter()
        .find(|(id, _)| *id == SETTINGS_MAX_FRAME_SIZE)
        .map(|(_, v)| *v);
    assert_eq!(max_frame, Some(strata_rpc::MAX_FRAME_BYTES), "{settings:?}");
    assert_eq!(strata_rpc::MAX_FRAME_BYTES, 1 << 20);
    drop(stream);
    server.stop().await;
}
