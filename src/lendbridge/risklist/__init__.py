"""The risk list (黑名单): people, phones and bank cards the platform does not lend to."""
