import EventsAPI
import Foundation
import Glibc
import Testing

/// The `events-server` executable, run as a subprocess.
@Suite struct CLITests {
    @Test func serveHelpDescribesEverySetting() throws {
        let output = try CLIProcess.run(["serve", "--help"])

        #expect(output.status == 0)
        for flag in ["--host", "--port", "--data-dir", "--config", "--log-format", "--max-body-bytes",
                     "--shutdown-timeout", "--no-demo-credentials", "--require-credentials"] {
            #expect(output.standardOutput.contains(flag), "missing \(flag)")
        }
        #expect(output.standardOutput.contains("Environment: EVENTS_PORT."))
        #expect(output.standardOutput.contains("Unit: bytes. Default: 1048576."))
        #expect(output.standardOutput.contains("Unit: seconds."))
    }

    @Test func everyCommandHasHelp() throws {
        for command in ["hash-password", "users", "validate-workflow", "healthcheck", "backup", "restore", "settings"] {
            let output = try CLIProcess.run([command, "--help"])
            #expect(output.status == 0, "\(command) --help exited \(output.status)")
            #expect(output.standardOutput.hasPrefix("Usage: events-server \(command)"), "\(command)")
        }
    }

    @Test func wrongFlagStopsStart() throws {
        let output = try CLIProcess.run(["serve", "--port", "70000"])

        #expect(output.status == 2)
        #expect(output.standardError.contains("port must be an integer between 0 and 65535, got \"70000\" (from flag --port)"))
    }

    @Test func wrongEnvironmentStopsStart() throws {
        let badLevel = try CLIProcess.run(["serve"], environment: ["EVENTS_LOG_LEVEL": "loud"])
        #expect(badLevel.status == 2)
        #expect(badLevel.standardError.contains("logLevel must be one of trace, debug, info, notice, warning, error, critical, got \"loud\" (from environment variable EVENTS_LOG_LEVEL)"))

        let typo = try CLIProcess.run(["serve"], environment: ["EVENTS_PROT": "9000"])
        #expect(typo.status == 2)
        #expect(typo.standardError.contains("unknown environment variable EVENTS_PROT"))
    }

    @Test func wrongServerFileStopsStart() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("{\"prot\": 8080}", "unknown setting \"prot\" in \(directory)/server.json"),
            ("{\"port\": \"8080\"}", "port must be an integer, got string (from \(directory)/server.json)"),
            ("{\"maxBodyBytes\": 10}", "maxBodyBytes must be an integer between 1024 and 1073741824, got 10"),
            ("[1]", "must contain a JSON object of settings"),
            ("{\"port\": 1,}", "is not valid JSON"),
        ]
        for (text, message) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/server.json"))
            let output = try CLIProcess.run(["serve", "--config", directory])
            #expect(output.status == 2, "\(text)")
            #expect(output.standardError.contains(message), "\(text): \(output.standardError)")
        }
    }

    @Test func missingConfigDirectoryStopsStart() throws {
        let output = try CLIProcess.run(["serve", "--config", "/nonexistent/config"])

        #expect(output.status == 2)
        #expect(output.standardError.contains("config directory /nonexistent/config does not exist"))
    }

    @Test func flagOverridesEnvironmentAndFile() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("{\"port\": 7001, \"logFormat\": \"json\", \"bodyTimeout\": 5}".utf8)
            .write(to: URL(fileURLWithPath: directory + "/server.json"))

        let output = try CLIProcess.run(["settings", "--config", directory, "--port", "7003"],
                                        environment: ["EVENTS_PORT": "7002", "EVENTS_LOG_FORMAT": "logfmt"])

        #expect(output.status == 0)
        #expect(output.standardOutput.contains("port = 7003  (flag --port)"))
        #expect(output.standardOutput.contains("logFormat = logfmt  (environment variable EVENTS_LOG_FORMAT)"))
        #expect(output.standardOutput.contains("bodyTimeout = 5  (\(directory)/server.json)"))
        #expect(output.standardOutput.contains("keepAliveTimeout = 60  (default)"))
    }

    @Test func validateWorkflowAcceptsReferenceWorkflows() throws {
        let directory = CLIProcess.repositoryRoot + "/Config/workflows"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        #expect(!files.isEmpty)

        let output = try CLIProcess.run(["validate-workflow"] + files.map { directory + "/" + $0 })

        #expect(output.status == 0, "\(output.standardError)")
        for file in files {
            #expect(output.standardOutput.contains("\(file): valid: workflow"), "\(file)")
        }
    }

    @Test func validateWorkflowNamesTheFault() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = CLIProcess.repositoryRoot + "/Config/workflows/ORDER-HD.json"
        let text = try String(contentsOfFile: source, encoding: .utf8)
        let broken = directory + "/broken.json"
        try Data(text.replacingOccurrences(of: ".SetState\"", with: ".SetStatus\"").utf8)
            .write(to: URL(fileURLWithPath: broken))
        let notJSON = directory + "/not-json.json"
        try Data("{\"name\": ".utf8).write(to: URL(fileURLWithPath: notJSON))

        let output = try CLIProcess.run(["validate-workflow", source, broken, notJSON])

        #expect(output.status == 1)
        #expect(output.standardOutput.contains("ORDER-HD.json: valid"))
        #expect(output.standardError.contains("\(broken): invalid"))
        #expect(output.standardError.contains("SetStatus"))
        #expect(output.standardError.contains("\(notJSON): invalid"))
    }

    @Test func validateWorkflowNeedsAFile() throws {
        let output = try CLIProcess.run(["validate-workflow"])

        #expect(output.status == 2)
        #expect(output.standardError.contains("missing FILE"))
    }

    @Test func hashPasswordReadsStandardInput() throws {
        let output = try CLIProcess.run(["hash-password", "--iterations", "1000"], standardInput: "s3cret pass\n")

        #expect(output.status == 0)
        let hash = output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(try PasswordHash.verify(password: "s3cret pass", against: hash))
        #expect(try !PasswordHash.verify(password: "s3cret pass\n", against: hash))
    }

    @Test func hashPasswordRejectsArgument() throws {
        let output = try CLIProcess.run(["hash-password", "hunter2"], standardInput: "x\n")

        #expect(output.status == 2)
        #expect(output.standardError.contains("takes no password argument"))
        #expect(output.standardOutput.isEmpty)
    }

    @Test func hashPasswordRejectsEmptyInput() throws {
        let output = try CLIProcess.run(["hash-password"], standardInput: "")

        #expect(output.status == 1)
        #expect(output.standardError.contains("no password on standard input"))
    }

    @Test func usersAddUpdateListRemove() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/users.json"

        let withoutAccount = try CLIProcess.run(["users", "add", "alice", "--file", file], standardInput: "pw\n")
        #expect(withoutAccount.status == 1)
        #expect(withoutAccount.standardError.contains("pass --account ID to create it"))

        let added = try CLIProcess.run(["users", "add", "alice", "--file", file, "--account", "ACME", "--retailers", "1, 2"],
                                       standardInput: "first\n")
        #expect(added.standardOutput.contains("added user alice"))
        let client = try CLIProcess.run(["users", "add-client", "web", "--file", file], standardInput: "secret\n")
        #expect(client.standardOutput.contains("added client web"))
        let updated = try CLIProcess.run(["users", "add", "alice", "--file", file], standardInput: "second\n")
        #expect(updated.standardOutput.contains("updated user alice"))

        let directoryOfUsers = try UserDirectory.load(path: file)
        let alice = try #require(directoryOfUsers.user(named: "alice"))
        #expect(alice.retailerIds == ["1", "2"])
        #expect(try PasswordHash.verify(password: "second", against: alice.passwordHash))
        #expect(try PasswordHash.verify(password: "secret", against: #require(directoryOfUsers.client(id: "web")).secretHash))

        let listed = try CLIProcess.run(["users", "list", "--file", file])
        #expect(listed.standardOutput.contains("account: ACME"))
        #expect(listed.standardOutput.contains("alice  (retailers 1, 2)"))
        #expect(listed.standardOutput.contains("  web"))
        #expect(!listed.standardOutput.contains("pbkdf2"))

        let removed = try CLIProcess.run(["users", "remove", "alice", "--file", file])
        #expect(removed.status == 0)
        let missing = try CLIProcess.run(["users", "remove", "alice", "--file", file])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("user alice not found"))
    }

    /// The shipped `Config/server.json` leaves the worker count to the machine: one fewer than
    /// the cores, at least one; a number given on the command line wins.
    @Test func workflowWorkersDefaultLeavesTheWriterACore() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        // The CPUs the process may run on, as `nproc` counts them.
        let nproc = Process()
        nproc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        nproc.arguments = ["nproc"]
        let output = Pipe()
        nproc.standardOutput = output
        try nproc.run()
        let counted = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        nproc.waitUntilExit()
        let cores = Int(counted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(cores >= 1)
        let common = ["--users-file", directory + "/users.json", "--config", CLIProcess.repositoryRoot + "/Config"]

        for (extra, expected) in [([String](), max(1, cores - 1)), (["--workflow-workers", "3"], 3)] {
            let server = try ServerProcess(arguments: ["--data-dir", directory + "/data-\(expected)"] + common + extra)
            let deadline = Date().addingTimeInterval(10)
            while !server.log.contains("workflow engine started") && Date() < deadline { usleep(10_000) }
            let log = server.log
            try server.stop()

            #expect(log.contains("msg=\"workflow engine started\" workers=\(expected) "), "\(log)")
        }
    }

    @Test func servePortZeroLogsBoundPortFirst() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])

        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config"])
        defer { _ = try? server.stop() }

        #expect(server.port > 0)
        #expect(server.firstLine.contains("level=info"))
        #expect(server.firstLine.contains("listening on http://127.0.0.1:\(server.port)"))
        let health = try CLIProcess.run(["healthcheck", "--port", String(server.port)])
        #expect(health.status == 0, "\(health.standardError)")
        let ready = try CLIProcess.run(["healthcheck", "--ready", "--port", String(server.port)])
        #expect(ready.status == 0, "\(ready.standardError)")

        #expect(try server.stop() == 0)
        #expect(server.log.contains("msg=\"shutting down\" signal=SIGTERM"))
        #expect(server.log.contains("workflow engine stopped"))
        #expect(server.log.contains("database closed"))
    }

    @Test func interruptDrainsLikeTerminate() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config"])

        let status = try server.stop(signal: SIGINT)

        #expect(status == 0)
        #expect(server.log.contains("msg=\"shutting down\" signal=SIGINT"))
        #expect(server.log.contains("database closed"))
    }

    @Test func secondSignalExitsAtOnce() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config", "--shutdown-timeout", "30"])
        // A request whose body never comes keeps the drain waiting for up to shutdownTimeout.
        // The 100 Continue shows that the server has read its head, so the request is in flight.
        let client = try TestHTTPClient(port: server.port)
        try client.write("POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
        #expect(try client.readResponse(method: "POST").status == 100)
        kill(server.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while !server.log.contains("shutting down: no longer accepting") && Date() < deadline { usleep(10_000) }

        #expect(server.process.isRunning, "the drain ended before the second signal")
        let started = Date()
        let status = try server.stop(signal: SIGTERM)

        #expect(status == 130)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.log.contains("second signal during shutdown: exiting now"))
    }

    @Test func serveMetricsCoverQueueAndWebhooks() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config"])
        defer { _ = try? server.stop() }

        let text = try curl(["http://127.0.0.1:\(server.port)/metrics"])

        for sample in ["workflow_oldest_pending_age_seconds 0", "workflow_queue_depth 0",
                       "workflow_webhook_outbox{state=\"PENDING\"} 0", "workflow_webhook_outbox{state=\"FAILED\"} 0",
                       "db_write_group_size_count ", "process_resident_memory_bytes "] {
            #expect(text.contains(sample), "missing \(sample)")
        }
    }

    @Test func serveLogsJSONWhenAsked() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])

        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config"],
                                       environment: ["EVENTS_LOG_FORMAT": "json"])
        try server.stop()

        #expect(server.firstLine.hasPrefix("{\"time\":"))
        #expect(server.firstLine.contains("\"level\":\"info\""))
        #expect(server.firstLine.contains("\"msg\":\"listening on http://127.0.0.1:\(server.port)\""))
    }

    @Test func dataDirectoryFreeAfterKill() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let arguments = ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config"]
        let killed = try ServerProcess(arguments: arguments)
        kill(killed.process.processIdentifier, SIGKILL)
        killed.process.waitUntilExit()

        let restarted = try ServerProcess(arguments: arguments)

        #expect(FileManager.default.fileExists(atPath: directory + "/data/events.lock"))
        #expect(try restarted.stop() == 0)
    }

    @Test func invalidWorkflowStopsStart() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        try FileManager.default.createDirectory(atPath: directory + "/workflows", withIntermediateDirectories: true)
        let text = try String(contentsOfFile: CLIProcess.repositoryRoot + "/Config/workflows/ORDER-HD.json", encoding: .utf8)
        try Data(text.replacingOccurrences(of: ".SetState\"", with: ".SetStatus\"").utf8)
            .write(to: URL(fileURLWithPath: directory + "/workflows/ORDER-HD.json"))

        let output = try CLIProcess.run(["serve", "--port", "0", "--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                         "--workflows-dir", directory + "/workflows", "--config", CLIProcess.repositoryRoot + "/Config"])

        #expect(output.status == 2)
        #expect(output.standardError.contains("msg=\"start failed\""))
        #expect(output.standardError.contains("\(directory)/workflows/ORDER-HD.json"))
        #expect(output.standardError.contains("SetStatus"))
    }

    @Test func busyPortStopsStart() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let first = try ServerProcess(arguments: ["--data-dir", directory + "/first", "--users-file", directory + "/users.json",
                                                  "--config", CLIProcess.repositoryRoot + "/Config"])
        defer { _ = try? first.stop() }

        let second = try CLIProcess.run(["serve", "--host", "127.0.0.1", "--port", String(first.port), "--data-dir", directory + "/second",
                                         "--users-file", directory + "/users.json", "--config", CLIProcess.repositoryRoot + "/Config"])

        #expect(second.status == 2)
        #expect(second.standardError.contains("port \(first.port) on 127.0.0.1 is already in use by another process"))
    }

    @Test func sharedDataDirectoryStopsStart() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let arguments = ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config"]
        let first = try ServerProcess(arguments: arguments)
        defer { _ = try? first.stop() }

        let second = try CLIProcess.run(["serve", "--port", "0"] + arguments)

        #expect(second.status == 2)
        #expect(second.standardError.contains("data directory \(directory)/data is in use by another events-server (pid \(first.process.processIdentifier))"))
        try first.stop()
        let restarted = try ServerProcess(arguments: arguments)
        #expect(try restarted.stop() == 0)
    }

    @Test func healthcheckFailsWithoutServer() throws {
        // Bind and close a socket to find a port nothing listens on.
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(socket)

        let output = try CLIProcess.run(["healthcheck", "--port", String(port), "--timeout", "2"])

        #expect(output.status == 1)
        #expect(output.standardError.contains("GET /health on 127.0.0.1:\(port) failed"))
    }

    @Test func demoCredentialsRejectedWhenRequired() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json")
        let arguments = ["serve", "--port", "0", "--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config"]

        let flag = try CLIProcess.run(arguments + ["--no-demo-credentials"])
        #expect(flag.status == 2)
        #expect(flag.standardError.contains("the demo user (demo / demo) is enabled"))

        let environment = try CLIProcess.run(arguments, environment: ["EVENTS_REQUIRE_CREDENTIALS": "1"])
        #expect(environment.status == 2)
        #expect(environment.standardError.contains("refusing to start because requireCredentials is set"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/data/events.sqlite"))
    }

    @Test func noUsersRejected() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: [], clients: [])
        let arguments = ["serve", "--port", "0", "--data-dir", directory + "/data", "--config", CLIProcess.repositoryRoot + "/Config"]

        let missingFile = try CLIProcess.run(arguments + ["--users-file", directory + "/absent.json"])
        #expect(missingFile.status == 2)
        #expect(missingFile.standardError.contains("users file \(directory)/absent.json not found"))

        let empty = try CLIProcess.run(arguments + ["--users-file", directory + "/users.json", "--require-credentials"])
        #expect(empty.status == 2)
        #expect(empty.standardError.contains("no user is configured"))
    }

    @Test func demoCredentialsAnnouncedByWarning() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json")

        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config"])
        try server.stop()

        #expect(server.log.contains("level=warning logger=server msg=\"the demo user (demo / demo) is enabled"))
    }

    @Test func usersFromEnvironmentJSON() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let json = try String(contentsOfFile: directory + "/users.json", encoding: .utf8)

        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--config", CLIProcess.repositoryRoot + "/Config"],
                                       environment: ["EVENTS_USERS_JSON": json, "EVENTS_REQUIRE_CREDENTIALS": "true"])
        let token = try curl(["-X", "POST", "http://127.0.0.1:\(server.port)/oauth/token?username=ops&password=ops&client_id=ops&client_secret=ops&grant_type=password&scope=api"])
        try server.stop()

        #expect(token.contains("\"access_token\""))
        #expect(server.log.contains("users=1 clients=1"))
        #expect(!server.log.contains("pbkdf2"))
    }

    @Test func logsHoldNoSecret() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config", "--log-level", "debug"])

        let base = "http://127.0.0.1:\(server.port)"
        let answer = try curl(["-X", "POST", "\(base)/oauth/token?username=ops&password=ops&client_id=ops&client_secret=ops&grant_type=password&scope=api"])
        let token = try #require(answer.split(separator: "\"").dropFirst(3).first.map(String.init))
        _ = try curl(["-X", "POST", "\(base)/oauth/token", "-d", "username=ops&password=wrong-password-1&client_id=ops&client_secret=ops&grant_type=password"])
        _ = try curl(["\(base)/api/v4.1/event?count=1", "-H", "Authorization: Bearer \(token)"])
        try server.stop()

        #expect(token.count >= 40)
        #expect(!server.log.contains(token))
        #expect(!server.log.contains("password=ops"))
        #expect(!server.log.contains("wrong-password-1"))
        #expect(!server.log.contains("client_secret"))
        #expect(server.log.contains("path=/oauth/token "))
    }

    @Test func backupWhileServing() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let server = try ServerProcess(arguments: ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                                                   "--config", CLIProcess.repositoryRoot + "/Config"])
        defer { _ = try? server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        let answer = try curl(["-X", "POST", "\(base)/oauth/token?username=ops&password=ops&client_id=ops&client_secret=ops&grant_type=password&scope=api"])
        let token = try #require(answer.split(separator: "\"").dropFirst(3).first.map(String.init))
        for index in 0..<5 {
            let body = "{\"name\": \"Note\", \"type\": \"GENERAL\", \"retailerId\": \"1\", \"entityType\": \"ORDER\", \"entityRef\": \"B-\(index)\"}"
            let posted = try curl(["-X", "POST", "\(base)/api/v4.1/event/async", "-H", "Authorization: Bearer \(token)",
                                   "-H", "Content-Type: application/json", "-d", body])
            #expect(posted.contains("\"eventId\""))
        }

        let backup = directory + "/backup.sqlite"
        let output = try CLIProcess.run(["backup", "--to", backup, "--data-dir", directory + "/data"])
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.standardOutput.contains("backed up \(directory)/data/events.sqlite to \(backup)"))

        let again = try CLIProcess.run(["backup", "--to", backup, "--data-dir", directory + "/data"])
        #expect(again.status == 1)
        #expect(again.standardError.contains("already exists"))

        let copy = try String(contentsOfFile: backup, encoding: .isoLatin1)
        #expect(copy.hasPrefix("SQLite format 3"))
        let count = try CLIProcess.run(["backup", "--to", directory + "/second.sqlite", "--force", "--data-dir", directory + "/data"])
        #expect(count.status == 0)
    }

    @Test func restoreReplacesDatabase() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try CLIProcess.writeUsersFile(at: directory + "/users.json", users: ["ops"], clients: ["ops"])
        let arguments = ["--data-dir", directory + "/data", "--users-file", directory + "/users.json",
                         "--config", CLIProcess.repositoryRoot + "/Config"]
        let server = try ServerProcess(arguments: arguments)
        let base = "http://127.0.0.1:\(server.port)"
        let answer = try curl(["-X", "POST", "\(base)/oauth/token?username=ops&password=ops&client_id=ops&client_secret=ops&grant_type=password&scope=api"])
        let token = try #require(answer.split(separator: "\"").dropFirst(3).first.map(String.init))
        func post(_ ref: String) throws -> String {
            let body = "{\"name\": \"Note\", \"type\": \"GENERAL\", \"retailerId\": \"1\", \"entityType\": \"ORDER\", \"entityRef\": \"\(ref)\"}"
            let posted = try curl(["-X", "POST", "\(base)/api/v4.1/event/async", "-H", "Authorization: Bearer \(token)",
                                   "-H", "Content-Type: application/json", "-d", body])
            return try #require(posted.split(separator: "\"").dropFirst(3).first.map(String.init))
        }
        let kept = try post("BEFORE-BACKUP")
        let backup = directory + "/backup.sqlite"
        #expect(try CLIProcess.run(["backup", "--to", backup, "--data-dir", directory + "/data"]).status == 0)
        let dropped = try post("AFTER-BACKUP")

        let whileRunning = try CLIProcess.run(["restore", "--from", backup, "--data-dir", directory + "/data"])
        #expect(whileRunning.status == 1)
        #expect(whileRunning.standardError.contains("is in use by another events-server"))

        try server.stop()
        let restored = try CLIProcess.run(["restore", "--from", backup, "--data-dir", directory + "/data"])
        #expect(restored.status == 0, "\(restored.standardError)")
        #expect(restored.standardOutput.contains("the previous database is kept as \(directory)/data/events.sqlite.replaced-"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/data")
        #expect(!names.contains("events.sqlite-wal"))
        #expect(!names.contains("events.sqlite.restoring"))

        let again = try ServerProcess(arguments: arguments)
        defer { _ = try? again.stop() }
        let other = "http://127.0.0.1:\(again.port)"
        let keptEvent = try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(other)/api/v4.1/event/\(kept)", "-H", "Authorization: Bearer \(token)"])
        let droppedEvent = try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(other)/api/v4.1/event/\(dropped)", "-H", "Authorization: Bearer \(token)"])
        #expect(keptEvent == "200")
        #expect(droppedEvent == "404")
    }

    @Test func restoreRejectsNonDatabase() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: directory + "/junk.sqlite"))

        let output = try CLIProcess.run(["restore", "--from", directory + "/junk.sqlite", "--data-dir", directory + "/data"])

        #expect(output.status == 1)
        #expect(output.standardError.contains("restore failed"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/data/events.sqlite"))
    }

    @Test func backupNeedsDestination() throws {
        let output = try CLIProcess.run(["backup"])

        #expect(output.status == 2)
        #expect(output.standardError.contains("missing --to FILE"))
    }

    @Test func unknownCommandListsCommands() throws {
        let output = try CLIProcess.run(["serv"])

        #expect(output.status == 2)
        #expect(output.standardError.contains("unknown command \"serv\"; commands: serve, hash-password"))
    }

    /// Runs curl and returns the body; throws when curl itself fails.
    private func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "--max-time", "10"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIProcess.Failure(description: "curl \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Documents generated from the settings table stay in step with it.
@Suite struct SettingsReferenceTests {
    @Test func operationsGuideMatchesSettingsTable() throws {
        let generated = try CLIProcess.run(["settings", "--markdown"])
        let guide = try String(contentsOfFile: CLIProcess.repositoryRoot + "/docs/operations.md", encoding: .utf8)
        let start = try #require(guide.range(of: "<!-- settings:start -->\n"))
        let end = try #require(guide.range(of: "<!-- settings:end -->"))

        #expect(generated.status == 0)
        #expect(String(guide[start.upperBound..<end.lowerBound]) == generated.standardOutput,
                "docs/operations.md is out of date: paste the output of events-server settings --markdown between the settings markers")
    }
}
