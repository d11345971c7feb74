import JSON

/// Decodes and checks one workflow document in Fluent's format.
///
/// Errors stop loading and name the file, workflow, ruleset and rule. Problems that cannot
/// break execution (an undeclared status, an unknown prop) become warnings on the result.
struct WorkflowDecoder {
    let file: String

    func decode(_ document: JSONValue) throws(WorkflowLoadError) -> WorkflowDefinition {
        guard let root = document.objectValue else {
            throw error(nil, "the document must be a JSON object, got \(document.typeName)")
        }
        let name = try requiredString(root, "name", workflow: nil)
        let retailerId = try identifier(root, "retailerId", workflow: name)
        let version = try identifier(root, "version", workflow: name)
        let entityType = try requiredString(root, "entityType", workflow: name)
        let entitySubtype = try requiredString(root, "entitySubtype", workflow: name)
        let expectedName = "\(entityType)::\(entitySubtype)"
        guard name == expectedName else {
            throw error(name, "name must be entityType::entitySubtype, expected \(expectedName), got \(name)")
        }

        let statuses = try decodeStatuses(root["statuses"], workflow: name)
        guard let rulesetValues = root["rulesets"]?.arrayValue else {
            throw error(name, "rulesets must be an array, got \(root["rulesets"]?.typeName ?? "nothing")")
        }
        var warnings: [String] = []
        var rulesets: [RulesetDefinition] = []
        for (index, value) in rulesetValues.enumerated() {
            rulesets.append(try decodeRuleset(value, index: index, workflow: name, statuses: statuses, warnings: &warnings))
        }

        return WorkflowDefinition(name: name, retailerId: retailerId, version: version, entityType: entityType,
                                  entitySubtype: entitySubtype, description: root["description"]?.stringValue,
                                  statuses: statuses, rulesets: rulesets, file: file, warnings: warnings)
    }

    // MARK: - Statuses

    private func decodeStatuses(_ value: JSONValue?, workflow: String) throws(WorkflowLoadError) -> [StatusDefinition] {
        guard let items = value?.arrayValue else {
            throw error(workflow, "statuses must be an array of {name, entityType, category}, got \(value?.typeName ?? "nothing")")
        }
        var statuses: [StatusDefinition] = []
        for (index, item) in items.enumerated() {
            guard let object = item.objectValue,
                  let name = object["name"]?.stringValue, !name.isEmpty,
                  let entityType = object["entityType"]?.stringValue, !entityType.isEmpty else {
                throw error(workflow, "statuses[\(index)] must be an object with non-empty string name and entityType")
            }
            statuses.append(StatusDefinition(name: name, entityType: entityType, category: object["category"]?.stringValue))
        }
        return statuses
    }

    // MARK: - Rulesets

    private func decodeRuleset(_ value: JSONValue, index: Int, workflow: String, statuses: [StatusDefinition],
                               warnings: inout [String]) throws(WorkflowLoadError) -> RulesetDefinition {
        var label = "#\(index + 1)"
        guard let object = value.objectValue else {
            throw error(workflow, ruleset: label, "a ruleset must be an object, got \(value.typeName)")
        }
        guard let name = object["name"]?.stringValue, !name.isEmpty, !name.contains(" ") else {
            throw error(workflow, ruleset: label, "name must be a non-empty string without spaces")
        }
        label = "\(name) (#\(index + 1))"
        guard let type = object["type"]?.stringValue, !type.isEmpty else {
            throw error(workflow, ruleset: label, "type must be the entity type the ruleset runs for, got \(object["type"]?.typeName ?? "nothing")")
        }
        let subtype = try optionalString(object, "subtype", workflow: workflow, ruleset: label)

        var eventType = RulesetEventType.normal
        if let eventTypeValue = object["eventType"] {
            guard let text = eventTypeValue.stringValue, let parsed = RulesetEventType(rawValue: text) else {
                throw error(workflow, ruleset: label, "eventType must be NORMAL or EXCEPTION, got \(JSONWriter.encodeString(eventTypeValue))")
            }
            eventType = parsed
        }

        let triggers = try decodeTriggers(object["triggers"], workflow: workflow, ruleset: label)
        for status in triggers where !statuses.contains(where: { $0.name == status && $0.entityType == type }) {
            warnings.append("\(file): workflow \(workflow), ruleset \(label): trigger status \(status) is not declared for \(type) in statuses")
        }

        guard let ruleValues = object["rules"]?.arrayValue else {
            throw error(workflow, ruleset: label, "rules must be an array, got \(object["rules"]?.typeName ?? "nothing")")
        }
        var rules: [RuleDefinition] = []
        for (ruleIndex, ruleValue) in ruleValues.enumerated() {
            let rule = try decodeRule(ruleValue, index: ruleIndex, workflow: workflow, ruleset: label, warnings: &warnings)
            if case .setState(let status) = rule.rule, !statuses.contains(where: { $0.name == status && $0.entityType == type }) {
                warnings.append("\(file): workflow \(workflow), ruleset \(label), rule \(rule.name): SetState to \(status), which statuses do not declare for \(type)")
            }
            rules.append(rule)
        }

        let userActions = object["userActions"] ?? .array([])
        guard userActions.arrayValue != nil else {
            throw error(workflow, ruleset: label, "userActions must be an array, got \(userActions.typeName)")
        }
        return RulesetDefinition(name: name, description: object["description"]?.stringValue, type: type, subtype: subtype,
                                 eventType: eventType, rules: rules, triggers: triggers, userActions: userActions)
    }

    private func decodeTriggers(_ value: JSONValue?, workflow: String, ruleset: String) throws(WorkflowLoadError) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue else {
            throw error(workflow, ruleset: ruleset, "triggers must be an array of {\"status\": \"...\"}, got \(value.typeName)")
        }
        var statuses: [String] = []
        for (index, item) in items.enumerated() {
            guard let object = item.objectValue, let status = object["status"]?.stringValue, !status.isEmpty else {
                throw error(workflow, ruleset: ruleset,
                            "triggers[\(index)] must be an object with a non-empty string status, got \(JSONWriter.encodeString(item))")
            }
            statuses.append(status)
        }
        return statuses
    }

    // MARK: - Rules

    private func decodeRule(_ value: JSONValue, index: Int, workflow: String, ruleset: String,
                            warnings: inout [String]) throws(WorkflowLoadError) -> RuleDefinition {
        guard let object = value.objectValue, let name = object["name"]?.stringValue, !name.isEmpty else {
            throw error(workflow, ruleset: ruleset, rule: "#\(index + 1)", "a rule must be an object with a non-empty string name")
        }
        let label = "\(name) (#\(index + 1))"
        guard let spec = RuleLibrary.spec(forRuleName: name) else {
            throw WorkflowLoadError(file: file, workflow: workflow, ruleset: ruleset, rule: label,
                                    message: "unknown rule \(name)", knownRules: RuleLibrary.knownRuleNames)
        }
        let propsValue = object["props"] ?? .object(JSONObject())
        guard let props = propsValue.objectValue else {
            throw error(workflow, ruleset: ruleset, rule: label, "props must be an object, got \(propsValue.typeName)")
        }
        do {
            let (rule, propWarnings) = try spec.makeRule(props: props)
            for warning in propWarnings {
                warnings.append("\(file): workflow \(workflow), ruleset \(ruleset), rule \(label): \(warning)")
            }
            return RuleDefinition(name: name, props: props, rule: rule)
        } catch {
            throw self.error(workflow, ruleset: ruleset, rule: label,
                             "\(error.message); \(spec.name) takes \(spec.props.map { "\($0.name)\($0.required ? "" : "?")" }.joined(separator: ", "))")
        }
    }

    // MARK: - Fields

    private func requiredString(_ object: JSONObject, _ key: String, workflow: String?) throws(WorkflowLoadError) -> String {
        guard let text = object[key]?.stringValue, !text.isEmpty else {
            throw error(workflow, "\(key) must be a non-empty string, got \(object[key]?.typeName ?? "nothing")")
        }
        return text
    }

    /// Reads a string, or an integer written as a number (`"retailerId": 1`), as Fluent's ids are.
    private func identifier(_ object: JSONObject, _ key: String, workflow: String) throws(WorkflowLoadError) -> String {
        switch object[key] {
        case .string(let text) where !text.isEmpty: return text
        case .integer(let number): return String(number)
        case .double(let number): return JSONWriter.encodeString(.double(number))
        default: throw error(workflow, "\(key) must be a non-empty string or a number, got \(object[key]?.typeName ?? "nothing")")
        }
    }

    private func optionalString(_ object: JSONObject, _ key: String, workflow: String,
                                ruleset: String) throws(WorkflowLoadError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue else {
            throw error(workflow, ruleset: ruleset, "\(key) must be a string, got \(value.typeName)")
        }
        return text.isEmpty ? nil : text
    }

    private func error(_ workflow: String?, ruleset: String? = nil, rule: String? = nil, _ message: String) -> WorkflowLoadError {
        WorkflowLoadError(file: file, workflow: workflow, ruleset: ruleset, rule: rule, message: message)
    }
}
