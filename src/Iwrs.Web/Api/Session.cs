namespace Iwrs.Web.Api;

/// <summary>Who is signed in and their roles (<c>GET /api/me</c>), and the studies as the API shows them to this
/// user (blinded views for blinded roles), read once per page load.</summary>
public sealed class Session(IwrsApi api)
{
    private Task<Me>? _me;
    private readonly Dictionary<string, Task<Study>> _studies = new(StringComparer.Ordinal);

    public Task<Me> MeAsync() => _me ??= api.GetAsync<Me>("me");

    public Task<Study> StudyAsync(string studyId)
    {
        if (!_studies.TryGetValue(studyId, out var study))
        {
            _studies[studyId] = study = api.GetAsync<Study>("studies/" + Uri.EscapeDataString(studyId));
        }

        return study;
    }

    public void Forget()
    {
        _me = null;
        _studies.Clear();
    }

    /// <summary>Whether the user holds the role in the study (at the site, for site roles).</summary>
    public static bool Holds(Me me, string studyId, string role, string? siteId = null) =>
        me.Assignments.Any(a => a.StudyId == studyId && a.Role == role && (siteId is null || a.SiteId == siteId));
}

public static class Roles
{
    public const string SiteCoordinator = "site-coordinator";
    public const string Pharmacist = "pharmacist";
    public const string UnblindingInvestigator = "unblinding-investigator";
    public const string StudyManager = "study-manager";
    public const string MedicalMonitor = "medical-monitor";
    public const string DepotManager = "depot-manager";
    public const string UnblindedStatistician = "unblinded-statistician";

    public static string Name(string role) => role switch
    {
        SiteCoordinator => "Site coordinator",
        Pharmacist => "Pharmacist",
        UnblindingInvestigator => "Unblinding investigator",
        StudyManager => "Study manager",
        MedicalMonitor => "Medical monitor",
        DepotManager => "Depot manager",
        UnblindedStatistician => "Unblinded statistician",
        _ => role,
    };
}
