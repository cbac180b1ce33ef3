//! Sample leads for demo mode, and the simulator's directory numbers they include.
//!
//! Deterministic: the same list every time, so demos, screenshots and tests can name a lead.
//! Pure data; softphone-store writes it into an empty lead table.

use crate::lead::LeadFields;
use crate::phone::PhoneNumber;

/// How many sample leads demo mode seeds.
pub const DEMO_LEAD_COUNT: usize = 300;

/// The simulator's scripted numbers (E.164) in the fictional +1 555 555 01xx range, with what
/// they do. The first sample leads carry these, so calling a lead in demo mode shows each.
pub const DIRECTORY_NUMBERS: [(&str, &str); 4] = [
    ("+15555550100", "answers and plays a tone"),
    ("+15555550101", "answers and echoes what you say"),
    ("+15555550102", "is busy"),
    ("+15555550103", "rings and never answers"),
];

const FIRST_NAMES: [&str; 32] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mason",
    "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jackson", "Emily", "Carter", "Ella", "Daniel",
    "Grace", "Henry", "Chloe", "Samuel", "Nora", "Owen", "Priya", "Mateo",
];

const LAST_NAMES: [&str; 32] = [
    "Anderson",
    "Brooks",
    "Castillo",
    "Dawson",
    "Ellison",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ibarra",
    "Jensen",
    "Kowalski",
    "Lambert",
    "Morales",
    "Nakamura",
    "O'Brien",
    "Patel",
    "Quinn",
    "Ramirez",
    "Sullivan",
    "Thompson",
    "Underwood",
    "Vasquez",
    "Whitaker",
    "Xu",
    "Young",
    "Zimmerman",
    "Bennett",
    "Carlson",
    "Delgado",
    "Foster",
    "Gallagher",
    "Holloway",
];

const COMPANIES: [&str; 24] = [
    "Acme Logistics",
    "Bluebird Dental",
    "Cedar Ridge Realty",
    "Summit Solar",
    "Harbor Freight Partners",
    "Northwind Traders",
    "Granite Insurance",
    "Lighthouse Analytics",
    "Maple Leaf Bakery",
    "Pioneer HVAC",
    "Redwood Legal",
    "Silverline Fitness",
    "Tidewater Marine",
    "Union Street Cafe",
    "Vertex Software",
    "Willow Creek Farms",
    "Evergreen Landscaping",
    "Keystone Roofing",
    "Orchard Pediatrics",
    "Beacon Hill Motors",
    "Copperfield Printing",
    "Riverbend Veterinary",
    "Starlight Events",
    "Ironclad Security",
];

/// Cities with a real area code of theirs; numbers are `+1 <area> 555 01xx` (fictional lines).
const CITIES: [(&str, &str); 10] = [
    ("San Francisco", "415"),
    ("New York", "212"),
    ("Chicago", "312"),
    ("Boston", "617"),
    ("Seattle", "206"),
    ("Austin", "512"),
    ("Denver", "303"),
    ("Atlanta", "404"),
    ("Miami", "305"),
    ("Los Angeles", "213"),
];

const TAGS: [&str; 6] = ["hot", "follow-up", "trial", "enterprise", "renewal", "referral"];

const NOTES: [&str; 5] = [
    "",
    "Asked for a callback next week.",
    "Interested in the annual plan; send pricing first.",
    "Gatekeeper answers; ask for the owner.",
    "Prefers calls after 2 pm local time.",
];

/// A small deterministic generator (xorshift64), so the list never changes between runs.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// The [`DEMO_LEAD_COUNT`] sample leads: the first four carry [`DIRECTORY_NUMBERS`], the rest
/// numbers in the fictional 555-01xx lines of real area codes. Every number is distinct.
pub fn demo_leads() -> Vec<LeadFields> {
    let mut sequence = Sequence(0x5EED_CA11_F00D_1EAD);
    let mut names = std::collections::HashSet::new();
    (0..DEMO_LEAD_COUNT)
        .map(|index| {
            // 32 x 32 names for 300 leads: draw again until the name is new.
            let (first, last) = loop {
                let first = FIRST_NAMES[sequence.next(FIRST_NAMES.len())];
                let last = LAST_NAMES[sequence.next(LAST_NAMES.len())];
                if names.insert((first, last)) {
                    break (first, last);
                }
            };
            let company = COMPANIES[sequence.next(COMPANIES.len())];
            let (city, area) = CITIES[index % CITIES.len()];
            let tag = TAGS[sequence.next(TAGS.len())];
            let (phone, notes) = match DIRECTORY_NUMBERS.get(index) {
                Some((number, behaviour)) => {
                    (PhoneNumber::from_stored(number), format!("Demo number: the simulator {behaviour}."))
                }
                None => {
                    // Each city gets lines 0100..0199 in turn: 30 leads per city at most.
                    let line = 100 + index / CITIES.len();
                    let note = NOTES[sequence.next(NOTES.len())].to_owned();
                    (PhoneNumber::from_stored(&format!("+1{area}555{line:04}")), note)
                }
            };
            let name = format!("{first} {last}");
            let domain: String =
                company.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
            let user: String = format!("{first}.{last}").chars().filter(|c| *c != '\'').collect();
            LeadFields {
                email: format!("{}@{domain}.example", user.to_ascii_lowercase()),
                name,
                company: company.to_owned(),
                phone: phone.unwrap_or_else(|_| unreachable!("sample numbers are valid E.164")),
                city: city.to_owned(),
                tags: vec![tag.to_owned()],
                notes,
            }
        })
        .collect()
}

#[cfg(all(test, feature = "numbers"))]
mod tests {
    use super::*;
    use crate::phone::{Region, parse_dialable};

    fn us() -> Region {
        Region::new("US").expect("US is a region")
    }

    #[test]
    fn the_sample_is_deterministic_with_distinct_dialable_numbers() {
        let leads = demo_leads();
        assert_eq!(leads.len(), DEMO_LEAD_COUNT);
        assert_eq!(leads, demo_leads(), "the same list every run");
        let numbers: std::collections::HashSet<_> = leads.iter().map(|lead| lead.phone.clone()).collect();
        assert_eq!(numbers.len(), DEMO_LEAD_COUNT, "one lead per number");
        let names: std::collections::HashSet<_> = leads.iter().map(|lead| lead.name.as_str()).collect();
        assert_eq!(names.len(), DEMO_LEAD_COUNT, "no two samples share a name");
        for lead in &leads[DIRECTORY_NUMBERS.len()..] {
            assert_eq!(PhoneNumber::parse(lead.phone.as_e164(), us()).as_ref(), Ok(&lead.phone), "{lead:?}");
            assert!(!lead.name.is_empty() && !lead.company.is_empty() && lead.email.contains('@'), "{lead:?}");
        }
    }

    #[test]
    fn the_first_leads_call_the_simulators_directory() {
        let leads = demo_leads();
        for ((number, behaviour), lead) in DIRECTORY_NUMBERS.iter().zip(&leads) {
            assert_eq!(lead.phone.as_e164(), *number);
            assert!(lead.notes.contains(behaviour), "{lead:?}");
            assert_eq!(parse_dialable(number, us(), true).as_ref(), Ok(&lead.phone));
        }
    }
}
