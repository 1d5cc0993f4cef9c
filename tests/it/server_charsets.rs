//! Charsets at the edge (PROTOCOL.md §1.4): each terminal receives text in its own charset
//! (UTF-8, Latin-1 or code page 850), and the AZ checksum is computed over the bytes actually
//! sent. Every test runs on SQLite and on PostgreSQL.

use crate::support;

use sip2auth::auth::{NewTerminal, TerminalSettings};
use sip2auth::sip2::{checksum, Charset};
use sip2auth::store::testing::sample_patron;
use sip2auth::store::{Backend, CredentialHash, PersonName, StoredHash};
use support::{seal, test_config, Client, World};

const CARD: &str = "21234000070707";
const PIN: &str = "3581";
/// "Núñez, José": ú, ñ and é in each charset, then the whole name as that charset writes it.
const NAME_UTF8: &[u8] = "Núñez, José".as_bytes();
const NAME_LATIN1: &[u8] = b"N\xfa\xf1ez, Jos\xe9";
const NAME_CP850: &[u8] = b"N\xa3\xa4ez, Jos\x82";

/// Reads one response up to its CR, as raw bytes.
async fn read_raw(client: &mut Client) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = client.read_exact(1).await[0];
        if byte == b'\r' {
            return out;
        }
        out.push(byte);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn each_terminal_gets_the_name_in_its_own_charset(backend: Backend) {
    let config = test_config();
    let world = World::new(backend, &config).await;
    let hasher = support::world::hasher(&config);
    for (login, charset) in [
        ("term-utf8", Charset::Utf8),
        ("term-latin1", Charset::Latin1),
        ("term-cp850", Charset::Cp850),
    ] {
        let mut settings = TerminalSettings::new("MAIN");
        settings.allowed_cidrs = vec!["127.0.0.0/8".parse().expect("cidr")];
        settings.allowed_messages = "63".parse().expect("codes");
        settings.charset = charset;
        let hashed = hasher.hash(b"c9Vt5Lq2Xw8Rn4Hz").expect("hash");
        let terminal = NewTerminal {
            login_id: login.into(),
            password: Some(StoredHash {
                phc: hashed.phc,
                key_id: hashed.key_id,
            }),
            settings,
        };
        world
            .store
            .create_terminal(&terminal.row())
            .await
            .expect("terminal");
    }
    let mut patron = sample_patron("MAIN", CARD);
    patron.details.name = PersonName::new("Núñez", "José");
    let pin = hasher.hash(PIN.as_bytes()).expect("hash");
    patron.pin = Some(CredentialHash {
        phc: pin.phc,
        key_id: pin.key_id,
        must_change: false,
        default_expires_at: None,
    });
    world.store.create_patron(&patron).await.expect("patron");
    let server = world.serve(config).await;

    for (login, name, others) in [
        ("term-utf8", NAME_UTF8, [NAME_LATIN1, NAME_CP850]),
        ("term-latin1", NAME_LATIN1, [NAME_UTF8, NAME_CP850]),
        ("term-cp850", NAME_CP850, [NAME_UTF8, NAME_LATIN1]),
    ] {
        let mut client = server.client().await;
        let login_message = seal(&format!("9300CN{login}|COc9Vt5Lq2Xw8Rn4Hz|"), Some(0));
        assert_eq!(
            client.exchange(&login_message).await,
            "941AY0AZFDFD",
            "{login}"
        );
        let request = seal(
            &format!("6300120250314    093005          AOMAIN|AA{CARD}|AC|AD{PIN}|"),
            Some(1),
        );
        client.send_message(&request).await;
        let response = read_raw(&mut client).await;
        let mut expected_name = b"|AE".to_vec();
        expected_name.extend_from_slice(name);
        expected_name.push(b'|');
        assert!(
            contains(&response, &expected_name),
            "{login}: {:?}",
            String::from_utf8_lossy(&response)
        );
        for other in others {
            assert!(!contains(&response, other), "{login} got another charset");
        }
        assert!(contains(&response, b"|CQY|"), "{login}");
        // The checksum covers the bytes as sent, in this terminal's charset.
        let (through_az, digits) = response.split_at(response.len() - 4);
        let sent = u16::from_str_radix(std::str::from_utf8(digits).expect("hex"), 16)
            .expect("four hex digits");
        assert_eq!(sent, checksum::compute(through_az), "{login}");
    }
}

sip2auth::store_test_on_both_backends!(each_terminal_gets_the_name_in_its_own_charset,);
