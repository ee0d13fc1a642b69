namespace Iwrs.Domain.Access;

/// <summary>
/// The people who use an IWRS, in the trial's words. The wire and storage names are the kebab-case names in
/// <see cref="Roles.Name"/>.
/// </summary>
public enum Role
{
    /// <summary>Registers and randomizes subjects at one site, records visits, gets the kit number. Blinded.</summary>
    SiteCoordinator,

    /// <summary>Receives shipments and keeps the site's stock. Sees kit numbers and totals only. Blinded.</summary>
    Pharmacist,

    /// <summary>An investigator at one site who may break the blind for one of the site's subjects in an emergency.</summary>
    UnblindingInvestigator,

    /// <summary>Imports kit lists and dispatches shipments; sees kit types. Unblinded.</summary>
    DepotManager,

    /// <summary>The sponsor's manager of the study: sites, users, reports. Blinded.</summary>
    StudyManager,

    /// <summary>Receives code-break notifications (the notice itself stays blinded). Blinded.</summary>
    MedicalMonitor,

    /// <summary>Generates or imports the randomization list and does the end-of-study unblinding. Unblinded.</summary>
    UnblindedStatistician,

    /// <summary>
    /// The system owner's configuration role across all studies: loads study configurations (which hold block
    /// sizes and the arm-to-kit-type mapping) and grants roles. Unblinded, so it belongs to setup staff, not to
    /// the study team.
    /// </summary>
    Administrator,
}

public static class Roles
{
    private static readonly Dictionary<Role, string> Names = new()
    {
        [Role.SiteCoordinator] = "site-coordinator",
        [Role.Pharmacist] = "pharmacist",
        [Role.UnblindingInvestigator] = "unblinding-investigator",
        [Role.DepotManager] = "depot-manager",
        [Role.StudyManager] = "study-manager",
        [Role.MedicalMonitor] = "medical-monitor",
        [Role.UnblindedStatistician] = "unblinded-statistician",
        [Role.Administrator] = "administrator",
    };

    public static IReadOnlyCollection<Role> All { get; } = Enum.GetValues<Role>();

    public static string Name(this Role role) => Names[role];

    public static bool TryParse(string? name, out Role role)
    {
        foreach (var (r, n) in Names)
        {
            if (n == name)
            {
                role = r;
                return true;
            }
        }

        role = default;
        return false;
    }

    /// <summary>Roles held at one site; every other study role covers the whole study.</summary>
    public static bool IsSiteScoped(this Role role) =>
        role is Role.SiteCoordinator or Role.Pharmacist or Role.UnblindingInvestigator;

    /// <summary>Roles that may see arms, kit types, block sizes, list positions and per-type stock.</summary>
    public static bool IsUnblinded(this Role role) =>
        role is Role.DepotManager or Role.UnblindedStatistician or Role.Administrator;
}
