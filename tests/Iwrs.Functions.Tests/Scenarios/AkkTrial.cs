using Iwrs.Functions.Features;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>The steps the audit tests share: a stocked Akkermansia site with randomized subjects, and the checkpoint timer.</summary>
internal static class AkkTrial
{
    public const string Study = "AKK-MCRC";

    /// <summary>
    /// Loads the seed studies, grants <c>depot</c>, <c>pharm</c>, <c>coord</c> and <c>inv</c> (the last three at CN01),
    /// stocks the site with one kit per subject and randomizes <paramref name="subjects"/>.
    /// </summary>
    public static async Task<TrialDriver> WithSubjectsAsync(IwrsFactory app, params string[] subjects)
    {
        await app.LoadSeedStudies();
        await app.Grant(Study, "depot", "depot-manager");
        await app.Grant(Study, "pharm", "pharmacist", "CN01");
        await app.Grant(Study, "coord", "site-coordinator", "CN01");
        await app.Grant(Study, "inv", "unblinding-investigator", "CN01");
        var trial = new TrialDriver(app, Study);
        await trial.ImportKits("depot", ["AKK-CAPS"], perType: subjects.Length + 2);
        await trial.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["AKK-CAPS"] = subjects.Length });
        foreach (var subject in subjects)
        {
            await trial.Ok("coord", HttpMethod.Post, $"subjects/{subject}/randomize", new { siteId = "CN01", eligibilityConfirmed = true });
        }

        return trial;
    }

    /// <summary>Runs the checkpoint timer as the Functions host would; its lines, one per study.</summary>
    public static async Task<IReadOnlyList<string>> RunCheckpointTimer(IwrsFactory app) =>
        await app.Services.GetRequiredService<AuditCheckpoints>().RunAsync(new TimerInvocation(AuditCheckpoints.FunctionName, DateTimeOffset.UnixEpoch, false), CancellationToken.None);
}
