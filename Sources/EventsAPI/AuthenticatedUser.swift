/// The caller behind a valid bearer token.
public struct AuthenticatedUser: Sendable, Equatable {
    public var username: String
    public var accountId: String
    /// The retailers the user is limited to, or nil for an account-wide user.
    public var retailerIds: [String]?

    public init(username: String, accountId: String, retailerIds: [String]?) {
        self.username = username
        self.accountId = accountId
        self.retailerIds = retailerIds
    }

    public var isAccountWide: Bool { retailerIds == nil }

    /// Returns true when the user may read and write events of `retailerId`.
    public func canAccess(retailerId: String) -> Bool {
        guard let retailerIds else { return true }
        return retailerIds.contains(retailerId)
    }
}
