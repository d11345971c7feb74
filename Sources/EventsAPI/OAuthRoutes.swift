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
    private let verifier: CredentialVerifier
    private let logger: Logger

    public init(authenticator: Authenticator, throttle: LoginThrottle = LoginThrottle(),
                verifier: CredentialVerifier? = nil, logger: Logger = Logger(label: "oauth")) {
        self.authenticator = authenticator
        self.throttle = throttle
        self.verifier = verifier ?? CredentialVerifier(users: authenticator.users)
        self.logger = logger
    }

    public func register(into router: inout Router) {
        // The route runs on the event loop because it only parses and queues: PBKDF2 runs on
        // the verifier's own queues, so logins never hold the worker threads of database reads.
        router.add(.post, OAuthRoutes.tokenPath, execution: .inline) { request, responder in
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

        // The attempt counts as a failure before its hash is checked, so parallel guesses are limited too.
        let delay: Int
        switch throttle.reserve(username: username, address: address) {
        case .reject(let retryAfter):
            logger.warning("login rejected: too many failures", [("username", username), ("address", address)])
            var response = oauthError(429, "too_many_requests", "too many failed logins for this user or address: retry after \(retryAfter) seconds")
            response.headers.append("Retry-After", String(retryAfter))
            responder.send(response)
            return
        case .proceed(let milliseconds):
            delay = milliseconds
        }

        let queued = verifier.verify(clientId: clientId, clientSecret: parameters["client_secret"]!,
                                     username: username, password: parameters["password"]!) { outcome in
            finishToken(outcome, request: request, username: username, clientId: clientId, delay: delay, responder: responder)
        }
        guard queued else {
            // A login that was never checked is no failure, so the reservation is given back.
            throttle.release(username: username, address: address)
            logger.warning("login rejected: credential checks are busy", [("username", username), ("address", address)])
            var response = oauthError(503, "temporarily_unavailable", "too many logins are being checked at once: retry after 1 second")
            response.headers.append("Retry-After", "1")
            responder.send(response)
            return
        }
    }

    /// Sends the response to a checked token request, issuing a token for valid credentials.
    private func finishToken(_ outcome: CredentialVerifier.Outcome, request: HTTPRequest, username: String,
                             clientId: String, delay: Int, responder: Responder) {
        let address = request.remoteAddress
        guard case .valid(let user) = outcome else {
            let clientValid = outcome != .invalidClient
            logger.notice("login failed", [("username", username), ("clientId", clientId), ("address", address),
                                          ("reason", clientValid ? "bad user credentials" : "bad client credentials")])
            let response = clientValid
                ? oauthError(400, "invalid_grant", "Bad credentials")
                : oauthError(401, "invalid_client", "Bad client credentials")
            sendAfter(delay, response, responder)
            return
        }

        throttle.recordSuccess(username: username, address: address)
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
