"""Partner organisations, referrals to them and National Referral Mechanism referrals."""
