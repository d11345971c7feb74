import Dispatch
import HTTP
import JSON
import Telemetry

/// `POST /oauth/token` with the OAuth 2.0 password grant (RFC 6749 section 4.3), as Fluent
/// serves it: parameters in the query string or an `application/x-www-form-urlencoded` body.
public struct OAuthRoutes: Sendable {
    public static let tokenPath = "/oauth/token"

    private let authenticator: Authenticator
    private let throttle: LoginThrottle
    private let logger: Logger
    /// Verified instead of a missing user's hash, so an unknown username takes as long to
    /// reject as a wrong password.
    private let decoyHash: String

    public init(authenticator: Authenticator, throttle: LoginThrottle = LoginThrottle(), logger: Logger = Logger(label: "oauth")) {
        self.authenticator = authenticator
        self.throttle = throttle
        self.logger = logger
        // The decoy costs what a configured user's hash costs, so the timings match.
        let iterations = authenticator.users.anyPasswordHash.flatMap { try? PasswordHash.parse($0).iterations }
        self.decoyHash = PasswordHash.make(password: "decoy", iterations: iterations ?? PasswordHash.defaultIterations)
    }

    public func register(into router: inout Router) {
        // PBKDF2 takes tens of milliseconds of CPU, so the route runs on the worker pool.
        router.add(.post, OAuthRoutes.tokenPath, execution: .blocking) { request, responder in
            handleToken(request, responder)
        }
    }

    private func handleToken(_ request: HTTPRequest, _ responder: Responder) {
        let parameters: [String: String]
        do {
            parameters = try collectParameters(request)
        } catch {
            responder.send(error.response)
            return
        }

        guard parameters["grant_type"] == "password" else {
            let grantType = parameters["grant_type"].map { "\"\($0)\"" } ?? "none"
            responder.send(oauthError(400, "unsupported_grant_type", "grant_type must be password, got \(grantType)"))
            return
        }
        for name in ["username", "password", "client_id", "client_secret"] where (parameters[name] ?? "").isEmpty {
            responder.send(oauthError(400, "invalid_request", "missing parameter \(name): send username, password, client_id, client_secret, grant_type=password and scope=api"))
            return
        }
        if let scope = parameters["scope"], scope != "api" {
            responder.send(oauthError(400, "invalid_scope", "scope must be api, got \"\(scope)\""))
            return
        }
        let username = parameters["username"]!
        let clientId = parameters["client_id"]!
        let address = request.remoteAddress

        let delay: Int
        switch throttle.check(username: username, address: address) {
        case .reject(let retryAfter):
            logger.warning("login rejected: too many failures", [("username", username), ("address", address)])
            var response = oauthError(429, "too_many_requests", "too many failed logins for this user or address: retry after \(retryAfter) seconds")
            response.headers.append("Retry-After", String(retryAfter))
            responder.send(response)
            return
        case .proceed(let milliseconds):
            delay = milliseconds
        }

        let client = authenticator.users.client(id: clientId)
        let clientValid = (try? PasswordHash.verify(password: parameters["client_secret"]!, against: client?.secretHash ?? decoyHash)) == true && client != nil
        let user = authenticator.users.user(named: username)
        let userValid = (try? PasswordHash.verify(password: parameters["password"]!, against: user?.passwordHash ?? decoyHash)) == true && user != nil

        guard clientValid, userValid, let user else {
            throttle.recordFailure(username: username, address: address)
            logger.notice("login failed", [("username", username), ("clientId", clientId), ("address", address),
                                          ("reason", clientValid ? "bad user credentials" : "bad client credentials")])
            let response = clientValid
                ? oauthError(400, "invalid_grant", "Bad credentials")
                : oauthError(401, "invalid_client", "Bad client credentials")
            sendAfter(delay, response, responder)
            return
        }

        throttle.recordSuccess(username: username)
        let retailerId: JSONValue = user.retailerIds?.first.map { .string($0) } ?? .null
        authenticator.issueToken(username: username, clientId: clientId) { result in
            switch result {
            case .success(let issued):
                logger.info("token issued", [("username", username), ("clientId", clientId)])
                let body: JSONValue = [
                    "access_token": .string(issued.accessToken),
                    "token_type": "bearer",
                    "expires_in": .integer(Int64(issued.expiresInSeconds)),
                    "scope": "api",
                    "Retailer_id": retailerId,
                ]
                sendAfter(delay, .json(200, body, headers: OAuthRoutes.noStoreHeaders), responder)
            case .failure(let error):
                logger.error("failed to store a new token", [("username", username), ("error", "\(error)")])
                responder.send(APIError.internalError(requestID: request.requestID).response)
            }
        }
    }

    /// Merges query parameters and a form body; a parameter given twice is an error.
    private func collectParameters(_ request: HTTPRequest) throws(OAuthRequestError) -> [String: String] {
        var pairs = request.query
        if !request.body.isEmpty {
            let contentType = request.headers["Content-Type"]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
                throw OAuthRequestError(response: oauthError(400, "invalid_request", "send the parameters in the query string or as an application/x-www-form-urlencoded body, got Content-Type \(contentType.isEmpty ? "none" : contentType)"))
            }
            guard let form = FormURLEncoded.parse(request.body) else {
                throw OAuthRequestError(response: oauthError(400, "invalid_request", "the form body has an invalid percent-encoding or is not UTF-8"))
            }
            pairs += form
        }
        var parameters: [String: String] = [:]
        for pair in pairs {
            guard parameters[pair.name] == nil else {
                throw OAuthRequestError(response: oauthError(400, "invalid_request", "parameter \(pair.name) is given more than once: send it once"))
            }
            parameters[pair.name] = pair.value
        }
        return parameters
    }

    private static var noStoreHeaders: HTTPFields {
        // Token responses must not be cached (RFC 6749 section 5.1).
        HTTPFields([("Cache-Control", "no-store"), ("Pragma", "no-cache")])
    }

    /// Makes an OAuth error response (RFC 6749 section 5.2): `{"error":..., "error_description":...}`.
    private func oauthError(_ status: Int, _ code: String, _ description: String) -> HTTPResponse {
        .json(status, ["error": .string(code), "error_description": .string(description)], headers: OAuthRoutes.noStoreHeaders)
    }

    private func sendAfter(_ delayMilliseconds: Int, _ response: HTTPResponse, _ responder: Responder) {
        guard delayMilliseconds > 0 else {
            responder.send(response)
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMilliseconds)) {
            responder.send(response)
        }
    }
}

/// A token request rejected before its credentials are checked.
struct OAuthRequestError: Error {
    let response: HTTPResponse
}
