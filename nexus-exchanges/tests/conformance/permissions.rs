//! What a key may do, as the venue reports it: Nexus needs `trade`, and warns of
//! `withdraw`.

use crate::each_venue;
use crate::support::Venue;

each_venue!(credentials_report_trading_and_warn_about_withdrawals);
async fn credentials_report_trading_and_warn_about_withdrawals<V: Venue>(v: V) {
    let p = v.account().validate_credentials().await.unwrap();
    assert!(p.read && p.trade && !p.withdraw, "{p:?}");
    for (trade, withdraw) in [(true, true), (false, true), (false, false)] {
        v.set_key_permissions(trade, withdraw);
        let p = v.account().validate_credentials().await.unwrap();
        assert_eq!(
            (p.read, p.trade, p.withdraw),
            (true, trade, withdraw),
            "set to trade {trade}, withdraw {withdraw}"
        );
    }
}
