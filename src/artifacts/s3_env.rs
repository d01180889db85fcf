//! The S3 settings read from the environment, checked before the store is built: without this,
//! missing credentials surface as a 403 (or a timeout) from the EC2 metadata address
//! 169.254.169.254, and a plain-http endpoint as "HTTP error: builder error" at the first request.

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey as Key};
use object_store::ClientConfigKey;

use crate::pipeline::location::redact;

/// What is wrong with the `AWS_*` variables for an `s3://` store, found before any request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum S3Setup {
    #[error("the S3 endpoint {endpoint} is plain http, which is refused unless AWS_ALLOW_HTTP=true; set AWS_ALLOW_HTTP=true (a local MinIO, SeaweedFS or Ceph) or use an https:// endpoint")]
    PlainHttp { endpoint: String },
    #[error("no S3 credentials found in the environment; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys). ~/.aws/credentials and AWS_PROFILE are not read. On EC2 with an instance role set AWS_METADATA_ENDPOINT=http://169.254.169.254; for a public bucket set AWS_SKIP_SIGNATURE=true")]
    NoCredentials,
    #[error("{set} is set but {missing} is not; set both")]
    HalfKey { set: &'static str, missing: &'static str },
}

/// Checks what `AmazonS3Builder::from_env` read, by the same keys its `build` uses.
///
/// Credentials count as found when one of object_store's sources is configured: the static
/// keys, a web identity (token file and role), ECS or EKS container credentials, or the
/// instance metadata. The metadata service is object_store's silent fallback; here it must be
/// asked for (`AWS_METADATA_ENDPOINT`, or `AWS_IMDSV1_FALLBACK`), because off EC2 it answers
/// with a 403 or a timeout after retries, which says nothing about the missing variables.
pub fn check(builder: &AmazonS3Builder) -> Result<(), S3Setup> {
    let get = |key: Key| builder.get_config_value(&key).filter(|v| !v.trim().is_empty());
    let on = |key: Key| get(key).is_some_and(|v| truthy(&v));
    // The S3-specific endpoint wins over the generic one, as in `build`.
    if let Some(endpoint) = get(Key::S3Endpoint).or_else(|| get(Key::Endpoint)) {
        let plain = endpoint.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
        if plain && !on(Key::Client(ClientConfigKey::AllowHttp)) {
            return Err(S3Setup::PlainHttp {
                endpoint: redact(&endpoint).into_owned(),
            });
        }
    }
    if on(Key::SkipSignature) {
        return Ok(());
    }
    match (get(Key::AccessKeyId), get(Key::SecretAccessKey)) {
        (Some(_), Some(_)) => return Ok(()),
        (Some(_), None) => {
            return Err(S3Setup::HalfKey {
                set: "AWS_ACCESS_KEY_ID",
                missing: "AWS_SECRET_ACCESS_KEY",
            })
        }
        (None, Some(_)) => {
            return Err(S3Setup::HalfKey {
                set: "AWS_SECRET_ACCESS_KEY",
                missing: "AWS_ACCESS_KEY_ID",
            })
        }
        (None, None) => {}
    }
    let other_source = (get(Key::WebIdentityTokenFile).is_some() && get(Key::RoleArn).is_some())
        || get(Key::ContainerCredentialsRelativeUri).is_some()
        || (get(Key::ContainerCredentialsFullUri).is_some() && get(Key::ContainerAuthorizationTokenFile).is_some())
        || get(Key::MetadataEndpoint).is_some()
        || on(Key::ImdsV1Fallback);
    if other_source {
        Ok(())
    } else {
        Err(S3Setup::NoCredentials)
    }
}

/// object_store's spelling of true in configuration values.
fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes" | "y"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A builder as `from_env` would fill it, without touching the process environment.
    fn with(pairs: &[(Key, &str)]) -> AmazonS3Builder {
        pairs
            .iter()
            .fold(AmazonS3Builder::new(), |b, (k, v)| b.with_config(*k, *v))
    }

    const KEYS: [(Key, &str); 2] = [(Key::AccessKeyId, "id"), (Key::SecretAccessKey, "secret")];

    #[test]
    fn no_credential_source_is_named_before_any_request() {
        let e = check(&with(&[(Key::Region, "us-east-1")])).unwrap_err();
        assert_eq!(e, S3Setup::NoCredentials);
        let text = e.to_string();
        assert!(text.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{text}");
        // Empty values count as unset: `AWS_ACCESS_KEY_ID= pmflow run` has no key.
        assert_eq!(
            check(&with(&[(Key::AccessKeyId, ""), (Key::SecretAccessKey, " ")])),
            Err(S3Setup::NoCredentials)
        );
        assert_eq!(
            check(&with(&[(Key::SecretAccessKey, "s")])),
            Err(S3Setup::HalfKey {
                set: "AWS_SECRET_ACCESS_KEY",
                missing: "AWS_ACCESS_KEY_ID"
            })
        );
    }

    #[test]
    fn every_credential_source_of_object_store_counts() {
        assert_eq!(check(&with(&KEYS)), Ok(()));
        for pairs in [
            vec![
                (Key::WebIdentityTokenFile, "/t"),
                (Key::RoleArn, "arn:aws:iam::1:role/r"),
            ],
            vec![(Key::ContainerCredentialsRelativeUri, "/v2/credentials/x")],
            vec![
                (Key::ContainerCredentialsFullUri, "http://169.254.170.23/v1/credentials"),
                (Key::ContainerAuthorizationTokenFile, "/t"),
            ],
            vec![(Key::MetadataEndpoint, "http://169.254.169.254")],
            vec![(Key::ImdsV1Fallback, "true")],
            vec![(Key::SkipSignature, "true")],
        ] {
            assert_eq!(check(&with(&pairs)), Ok(()), "{pairs:?}");
        }
        // Half a web identity is no source.
        assert_eq!(check(&with(&[(Key::RoleArn, "arn")])), Err(S3Setup::NoCredentials));
    }

    #[test]
    fn a_plain_http_endpoint_needs_allow_http() {
        let http = [KEYS[0], KEYS[1], (Key::Endpoint, "http://127.0.0.1:8333")];
        let e = check(&with(&http)).unwrap_err();
        assert!(e.to_string().contains("set AWS_ALLOW_HTTP=true"), "{e}");
        let allowed = [
            http[0],
            http[1],
            http[2],
            (Key::Client(ClientConfigKey::AllowHttp), "true"),
        ];
        assert_eq!(check(&with(&allowed)), Ok(()));
        let https = [KEYS[0], KEYS[1], (Key::Endpoint, "https://s3.example.com")];
        assert_eq!(check(&with(&https)), Ok(()));
        // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT, as in object_store.
        let s3_wins = [http[0], http[1], http[2], (Key::S3Endpoint, "https://s3.example.com")];
        assert_eq!(check(&with(&s3_wins)), Ok(()));
        // It is checked before the credentials, and shown redacted.
        let e = check(&with(&[(Key::Endpoint, "HTTP://u:SECRETPW@minio:9000")])).unwrap_err();
        assert_eq!(
            e,
            S3Setup::PlainHttp {
                endpoint: "HTTP://u:***@minio:9000".into()
            }
        );
    }
}
