import Foundation
import Testing

/// The README's promises: its curl walkthrough works as written against `events-server serve`
/// started on the embedded Config/, and CI runs the README's test command and nothing else.
@Suite struct ReadmeWalkthroughTests {
    @Test func walkthroughRunsAsWritten() throws {
        let directory = try CLIProcess.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The shipped Config/ as is, users.json with the demo credentials included; only the
        // database goes to a temporary directory.
        let server = try ServerProcess(arguments: ["--config", CLIProcess.repositoryRoot + "/Config",
                                                   "--data-dir", directory + "/data"])
        defer { _ = try? server.stop() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", CLIProcess.repositoryRoot + "/scripts/walkthrough.sh", "http://127.0.0.1:\(server.port)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("walkthrough: passed"))
        #expect(text.contains("\"category\":\"snapshot\""))
        #expect(text.contains("\"category\":\"ruleSet\""))
    }

    @Test func ciRunsTheReadmeTestCommand() throws {
        let readme = try String(contentsOfFile: CLIProcess.repositoryRoot + "/README.md", encoding: .utf8)
        let ci = try String(contentsOfFile: CLIProcess.repositoryRoot + "/.ci/run", encoding: .utf8)
        let commands = ci.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("set ") && !$0.hasPrefix("cd ") }

        #expect(commands == ["scripts/test.sh"])
        #expect(readme.contains("```sh\nscripts/test.sh\n```"))
        #expect(readme.contains("```sh\nscripts/serve.sh\n```"))
    }
}
