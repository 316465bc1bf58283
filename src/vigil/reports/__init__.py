"""What leaves Vigil: goAML reports, evidence packages, FollowTheMoney exports, safe CSV."""
