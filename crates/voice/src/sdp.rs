//! What an SDP says about its audio, read as text.

/// The `a=mid` of the first audio m-section, if it has one.
pub fn audio_mid(sdp: &str) -> Option<&str> {
    let mut in_audio = false;
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            if in_audio {
                return None;
            }
            in_audio = line.starts_with("m=audio");
        } else if in_audio && let Some(mid) = line.strip_prefix("a=mid:") {
            return Some(mid);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_audio_mid() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\na=mid:0\r\n";
        assert_eq!(audio_mid(sdp), Some("0"));
        assert_eq!(audio_mid("v=0\r\nm=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\na=mid:v\r\n"), None);
        assert_eq!(audio_mid("v=0\r\n"), None);
    }
}
