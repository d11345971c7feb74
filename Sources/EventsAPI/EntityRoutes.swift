import EventStore
import HTTP
import JSON
import Telemetry

/// `GET /api/v4.1/entity/{entityType}/{entityRef}?retailerId=1`: the current status and
/// attributes of an orchestrated entity, as the workflow engine keeps it.
///
/// This endpoint is an extension of the Fluent API (Fluent reads entities through GraphQL),
/// so clients can check what their events did without the audit trail.
public struct EntityRoutes: Sendable {
    public static let path = "/api/v4.1/entity/{entityType}/{entityRef}"

    private let store: EventStore
    private let authenticator: Authenticator
    private let logger: Logger

    public init(store: EventStore, authenticator: Authenticator, logger: Logger = Logger(label: "entity")) {
        self.store = store
        self.authenticator = authenticator
        self.logger = logger
    }

    public func register(into router: inout Router) {
        router.add(.get, EntityRoutes.path, execution: .blocking) { request, responder in
            getEntity(request, responder)
        }
    }

    private func getEntity(_ request: HTTPRequest, _ responder: Responder) {
        let user: AuthenticatedUser
        let retailerId: String
        do {
            user = try authenticator.authenticate(request).get()
            retailerId = try EntityRoutes.retailerId(request, user: user)
        } catch {
            responder.send(error.response)
            return
        }
        let entityType = request.pathParameters["entityType"] ?? ""
        let entityRef = request.pathParameters["entityRef"] ?? ""
        let key = EntityKey(retailerId: retailerId, type: entityType, ref: entityRef)

        // Another retailer's entity gets the same 404 as a missing one, so its existence stays hidden.
        guard user.canAccess(retailerId: retailerId) else {
            responder.send(APIError.notFound("entity \(entityType)/\(entityRef) not found for retailer \(retailerId)").response)
            return
        }
        do {
            guard let entity = try store.read({ try EntityRecords.fetch(key, on: $0) }) else {
                responder.send(APIError.notFound("entity \(entityType)/\(entityRef) not found for retailer \(retailerId)").response)
                return
            }
            responder.send(.json(200, EntityRoutes.json(entity)))
        } catch {
            logger.error("cannot read an entity", [("requestId", request.requestID), ("entity", "\(key)"), ("error", "\(error)")])
            responder.send(APIError.internalError(requestID: request.requestID).response)
        }
    }

    /// Returns the `retailerId` query parameter, which a user limited to one retailer may omit.
    /// - Throws: 400 for any other query parameter, as `GET /event` does, so a misspelt
    ///   parameter is never ignored.
    static func retailerId(_ request: HTTPRequest, user: AuthenticatedUser) throws(APIError) -> String {
        for (name, _) in request.query where name != "retailerId" {
            throw .badRequest("unknown query parameter \"\(name)\": the only accepted parameter is retailerId")
        }
        let values = request.queryValues("retailerId")
        guard values.count <= 1 else {
            throw .badRequest("retailerId is given \(values.count) times: send it once")
        }
        if let value = values.first, !value.isEmpty {
            return value
        }
        if let retailers = user.retailerIds, retailers.count == 1 {
            return retailers[0]
        }
        throw .badRequest("retailerId is required: add ?retailerId=<id> (entities are unique per retailer, type and ref)")
    }

    static func json(_ entity: Entity) -> JSONValue {
        var object = JSONObject()
        object["entityId"] = .string(entity.id)
        object["entityRef"] = .string(entity.ref)
        object["entityType"] = .string(entity.type)
        object["entitySubtype"] = entity.subtype.map { .string($0) } ?? .null
        object["retailerId"] = .string(entity.retailerId)
        object["status"] = .string(entity.status)
        object["attributes"] = .object(entity.attributes)
        object["rootEntityType"] = .string(entity.rootType)
        object["rootEntityId"] = entity.rootId.map { .string($0) } ?? .null
        object["rootEntityRef"] = .string(entity.rootRef)
        object["workflowName"] = entity.workflowName.map { .string($0) } ?? .null
        object["workflowVersion"] = entity.workflowVersion.map { .string($0) } ?? .null
        object["createdOn"] = .string(TimeFormat.iso8601(milliseconds: entity.createdOn))
        object["updatedOn"] = .string(TimeFormat.iso8601(milliseconds: entity.updatedOn))
        return .object(object)
    }
}
