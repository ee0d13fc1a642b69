using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// tools/Iwrs.AuditVerify run as its own process, the way a regulator would run it, on the exports of a scenario
/// (randomizations, a discontinuation with a free-text reason, an emergency unblinding, the timer's checkpoint) and on
/// tampered copies of those files.
/// </summary>
public sealed class IndependentVerifierTests : IAsyncLifetime
{
    private const string Study = "AKK-MCRC";
    private readonly IwrsFactory _app = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("iwrs-verify-").FullName;
    private JsonNode _trail = null!;
    private JsonNode _checkpoints = null!;
    private string _keys = null!;

    public async Task InitializeAsync()
    {
        var trial = await AkkTrial.WithSubjectsAsync(_app, "AKK-001", "AKK-002");
        await trial.Ok("coord", HttpMethod.Post, "subjects/AKK-002/discontinue", new { reason = "Withdrew consent — «ünïcödé», 2 lines\nsecond" });
        await trial.Ok("inv", HttpMethod.Post, "subjects/AKK-001/unblind", new { reason = "Emergency surgery" });
        await _app.Grant(Study, "manager", "study-manager");
        await AkkTrial.RunCheckpointTimer(_app);

        var admin = await _app.ClientFor(IwrsFactory.Admin);
        _trail = JsonNode.Parse(await admin.GetStringAsync($"/api/studies/{Study}/audit"))!;
        _checkpoints = JsonNode.Parse(await admin.GetStringAsync($"/api/studies/{Study}/audit/checkpoints"))!;
        _keys = await admin.GetStringAsync("/api/audit/signing-keys");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Writes the three files and runs the verifier's build output with the dotnet host: exit code and its JSON.</summary>
    private (int Exit, JsonElement Outcome) Run(JsonNode trail, JsonNode checkpoints)
    {
        var name = Guid.NewGuid().ToString("N");
        File.WriteAllText(Path.Combine(_dir, name + "-trail.json"), trail.ToJsonString());
        File.WriteAllText(Path.Combine(_dir, name + "-checkpoints.json"), checkpoints.ToJsonString());
        File.WriteAllText(Path.Combine(_dir, name + "-keys.json"), _keys);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Iwrs.AuditVerify.dll"), "--trail", name + "-trail.json", "--checkpoints", name + "-checkpoints.json", "--keys", name + "-keys.json" })
        {
            info.ArgumentList.Add(arg);
        }

        info.WorkingDirectory = _dir;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(output.Length > 0, "the verifier printed nothing: " + error);
        return (process.ExitCode, JsonDocument.Parse(output).RootElement.Clone());
    }

    [Fact]
    public void Verifier_ScenarioExport_IntactWithItsCheckpoints()
    {
        var (exit, outcome) = Run(_trail, _checkpoints);

        Assert.Equal(0, exit);
        Assert.True(outcome.GetProperty("intact").GetBoolean());
        Assert.Equal(_trail.AsArray().Count, outcome.GetProperty("recordsChecked").GetInt64());
        Assert.Equal(2, outcome.GetProperty("checkpointsChecked").GetInt32());
    }

    [Fact]
    public void Verifier_ReasonChangedInTheExport_NamesTheRecord()
    {
        var trail = _trail.DeepClone();
        var record = trail.AsArray().First(r => r!["action"]!.GetValue<string>() == "subject.discontinued")!;
        record["reason"] = "Adverse event";

        var (exit, outcome) = Run(trail, _checkpoints);

        Assert.Equal(1, exit);
        Assert.Equal(record["sequence"]!.GetValue<long>(), outcome.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("changed", outcome.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_LastRecordsCutFromTheExport_ShorterThanTheCheckpoint()
    {
        var trail = _trail.DeepClone().AsArray();
        var count = trail.Count;
        trail.RemoveAt(count - 1);
        trail.RemoveAt(count - 2);

        var (exit, outcome) = Run(trail, _checkpoints);

        Assert.Equal(1, exit);
        Assert.Equal(count - 1, outcome.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("records were removed", outcome.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_CheckpointTimeChanged_BadSignature()
    {
        var checkpoints = _checkpoints.DeepClone();
        var newest = checkpoints["checkpoints"]!.AsArray()[^1]!["checkpoint"]!;
        newest["at"] = "2030-01-01T00:00:00.0000000Z";

        var (exit, outcome) = Run(_trail, checkpoints);

        Assert.Equal(1, exit);
        Assert.Contains("bad signature", outcome.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_BlindedExport_RefusesToJudge()
    {
        var trail = _trail.DeepClone();
        foreach (var record in trail.AsArray())
        {
            record!.AsObject().Remove("hash");
        }

        File.WriteAllText(Path.Combine(_dir, "blinded.json"), trail.ToJsonString());
        File.WriteAllText(Path.Combine(_dir, "cp.json"), _checkpoints.ToJsonString());
        File.WriteAllText(Path.Combine(_dir, "keys.json"), _keys);
        var stderr = new StringWriter();
        var previous = Console.Error;
        Console.SetError(stderr);
        try
        {
            Assert.Equal(2, Iwrs.AuditVerify.Verifier.Main(["--trail", Path.Combine(_dir, "blinded.json"), "--checkpoints", Path.Combine(_dir, "cp.json"), "--keys", Path.Combine(_dir, "keys.json")]));
            Assert.Equal(2, Iwrs.AuditVerify.Verifier.Main(["--trail", "only-one-argument"]));
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Contains("unblinded reader", stderr.ToString(), StringComparison.Ordinal);
    }
}
