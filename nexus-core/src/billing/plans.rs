//! Plans and their limits, from configuration (`NEXUS_PLANS`): how many bots a user may
//! run and on how many (exchange, symbol) pairs.

/// One plan's limits (`None`: no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its id (`free`, `pro`, `enterprise`).
    pub name: String,
    /// Running bots allowed.
    pub max_bots: Option<u32>,
    /// Distinct pairs allowed.
    pub max_pairs: Option<u32>,
}

/// Never used: `parse` and `default` always hold a `free` plan.
static FREE_FALLBACK: Plan = Plan {
    name: String::new(),
    max_bots: Some(0),
    max_pairs: Some(0),
};

/// Every plan; users without a subscription are on `free`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plans {
    plans: Vec<Plan>,
}

/// The default: `free` 3 bots on 3 pairs, `pro` 25 on 20, `enterprise` no limit.
pub const DEFAULT_PLANS: &str = "free=3/3,pro=25/20,enterprise=unlimited";

impl Default for Plans {
    fn default() -> Self {
        let plan = |name: &str, bots, pairs| Plan {
            name: name.to_owned(),
            max_bots: bots,
            max_pairs: pairs,
        };
        Self {
            plans: vec![
                plan("free", Some(3), Some(3)),
                plan("pro", Some(25), Some(20)),
                plan("enterprise", None, None),
            ],
        }
    }
}

/// What is wrong with the plans' setting (`NEXUS_PLANS`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlansError {
    /// An entry without `=`.
    #[error("{entry:?}: expected name=BOTS/PAIRS or name=unlimited")]
    NotAPair {
        /// The entry.
        entry: String,
    },
    /// A name that is not letters, digits, `_` and `-`.
    #[error("{name:?}: plan names are letters, digits, _ and -")]
    BadName {
        /// The name.
        name: String,
    },
    /// Limits that are neither `BOTS/PAIRS` nor `unlimited`.
    #[error("{entry:?}: expected BOTS/PAIRS like 3/3")]
    NoSlash {
        /// The entry.
        entry: String,
    },
    /// A limit that is not a whole number.
    #[error("{entry:?}: {count:?} is not a count")]
    NotACount {
        /// The entry.
        entry: String,
        /// The text that should have been a count.
        count: String,
    },
    /// No `free` plan.
    #[error("the free plan must be configured (users without a subscription are on it)")]
    NoFree,
}

impl Plans {
    /// Parses `name=BOTS/PAIRS` (or `name=unlimited`) entries separated by commas; `free`
    /// must be among them.
    ///
    /// # Errors
    /// [`PlansError`], saying what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, PlansError> {
        let mut plans = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, limits) = entry.split_once('=').ok_or_else(|| PlansError::NotAPair {
                entry: entry.to_owned(),
            })?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(PlansError::BadName {
                    name: name.to_owned(),
                });
            }
            let (max_bots, max_pairs) = if limits.trim() == "unlimited" {
                (None, None)
            } else {
                let (bots, pairs) = limits.split_once('/').ok_or_else(|| PlansError::NoSlash {
                    entry: entry.to_owned(),
                })?;
                let number = |t: &str| {
                    t.trim().parse::<u32>().map_err(|_| PlansError::NotACount {
                        entry: entry.to_owned(),
                        count: t.to_owned(),
                    })
                };
                (Some(number(bots)?), Some(number(pairs)?))
            };
            plans.push(Plan {
                name: name.to_owned(),
                max_bots,
                max_pairs,
            });
        }
        if !plans.iter().any(|p| p.name == "free") {
            return Err(PlansError::NoFree);
        }
        Ok(Self { plans })
    }

    /// Every plan, in the order configured.
    #[must_use]
    pub fn all(&self) -> &[Plan] {
        &self.plans
    }

    /// The plan named `name`, or `free` for no (or an unknown) subscription.
    #[must_use]
    pub fn get(&self, name: Option<&str>) -> &Plan {
        let free = || self.plans.iter().find(|p| p.name == "free");
        name.and_then(|n| self.plans.iter().find(|p| p.name == n))
            .or_else(free)
            .unwrap_or(&FREE_FALLBACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_and_default_to_free() {
        let plans = Plans::parse(DEFAULT_PLANS).unwrap();
        assert_eq!(plans, Plans::default());
        assert_eq!(plans.get(None).max_bots, Some(3));
        assert_eq!(plans.get(Some("pro")).max_pairs, Some(20));
        assert_eq!(plans.get(Some("enterprise")).max_bots, None);
        assert_eq!(plans.get(Some("gold")).name, "free");
        assert_eq!(Plans::parse("pro=1/1"), Err(PlansError::NoFree));
        assert_eq!(
            Plans::parse("free=x/1").unwrap_err().to_string(),
            r#""free=x/1": "x" is not a count"#
        );
        assert!(matches!(
            Plans::parse("free=3"),
            Err(PlansError::NoSlash { .. })
        ));
        assert!(matches!(
            Plans::parse("free 1=3/3"),
            Err(PlansError::BadName { .. })
        ));
        // Names are letters, digits, `_` and `-`, each on its own.
        let plans = Plans::parse("free=1/1, pro_2=5/5, team-b=unlimited").unwrap();
        let names: Vec<&str> = plans.all().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["free", "pro_2", "team-b"],
            "in the order configured"
        );
        assert_eq!(plans.get(Some("team-b")).max_bots, None);
        for bad in ["free=1/1,pro.2=5/5", "free=1/1,=5/5", "free=1/1,pró=5/5"] {
            assert!(
                matches!(Plans::parse(bad), Err(PlansError::BadName { .. })),
                "{bad}"
            );
        }
    }
}
