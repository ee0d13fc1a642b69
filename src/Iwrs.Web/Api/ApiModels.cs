namespace Iwrs.Web.Api;

// The API's answers as the web app reads them (README "API"). Only what the API returns is ever shown: a blinded
// caller's answers carry no arm, kit type or block size, so no page can show one.

public sealed record Assignment(string UserId, string Role, string? StudyId, string? SiteId, string GrantedBy, DateTimeOffset GrantedAt);

public sealed record Me(string UserId, string? Name, bool Administrator, IReadOnlyList<Assignment> Assignments);

public sealed record Arm(string Code, string Name, int Ratio, string KitType);

public sealed record KitTypeInfo(string Code, string Description, int UnitsPerKit, string Unit);

public sealed record Factor(string Code, string Name, IReadOnlyList<string> Levels);

public sealed record Site(string SiteId, string Name, string Country, string TimeZone, bool Active);

public sealed record VisitSchedule(string VisitPrefix, int CycleLengthDays, int WindowDays, int DispensingVisits, int KitsPerVisit);

public sealed record Study(
    string StudyId, int Version, string Title, string? Protocol, string Status, string Allocation, string Blinding,
    IReadOnlyList<Arm>? Arms, IReadOnlyList<KitTypeInfo>? KitTypes, IReadOnlyList<int>? BlockSizes, bool StratifyBySite,
    IReadOnlyList<Factor> StratificationFactors, VisitSchedule VisitSchedule, IReadOnlyList<Site> Sites, string? Withheld)
{
    public bool Randomized => Allocation == "randomized";

    public Site? SiteById(string siteId) => Sites.FirstOrDefault(s => s.SiteId == siteId);
}

public sealed record Dispensation(string Visit, string KitNumber, DateTimeOffset At);

public sealed record Subject(
    string SubjectId, string SiteId, string Status, string Number, DateTimeOffset RandomizedAt, IReadOnlyList<Dispensation> Dispensations,
    bool Unblinded, string? DiscontinuationReason, string? Arm, string? KitType, string? Stratum, int? ListPosition);

/// <summary>A kit at a site; on subject packs, the starter or the subject's pack it belongs to, as printed on it.</summary>
public sealed record InventoryKit(string KitNumber, string? KitType, DateOnly? Expiry, string? Starter = null, string? PackFor = null)
{
    public string? Label => KitLabel.Of(Starter, PackFor);
}

/// <summary><paramref name="InPacks"/>: on subject packs, the kits in subjects' own packs at the site.</summary>
public sealed record Inventory(string SiteId, int Available, IReadOnlyList<InventoryKit> Kits, IReadOnlyDictionary<string, int>? AvailableByKitType, int InTransit, IReadOnlyList<string> OpenShipments, IReadOnlyList<InventoryKit>? InPacks = null);

public sealed record ShipmentKit(string KitNumber, string? KitType, string Condition, string? Starter = null, string? PackFor = null)
{
    public string? Label => KitLabel.Of(Starter, PackFor);
}

/// <summary>What is printed on a kit on subject packs: its starter, or whose pack it is in.</summary>
public static class KitLabel
{
    public static string? Of(string? starter, string? packFor) =>
        starter is not null ? $"starter {starter}" : packFor is not null ? $"pack for {packFor}" : null;
}

public sealed record Shipment(
    string ShipmentId, string SiteId, string Status, string Reason, int KitCount, IReadOnlyList<ShipmentKit> Kits, IReadOnlyDictionary<string, int>? ByKitType,
    DateTimeOffset CreatedAt, DateTimeOffset? DispatchedAt, DateTimeOffset? ReceivedAt, DateTimeOffset? ReleasedAt);

public sealed record Unblinding(string SubjectId, string Number, string Arm, string ArmName, string KitType, DateTimeOffset UnblindedAt);

public sealed record KitImportResult(int Imported, int AlreadyPresent, int Total);

/// <summary>One changed field of an audit record, as the API sends it (<c>field</c>, <c>before</c>, <c>after</c>).</summary>
public sealed record AuditChange(string Field, string? Before, string? After);

public sealed record AuditRecord(long Sequence, DateTimeOffset At, string UserId, string Role, string Channel, string Action, string Target, IReadOnlyList<AuditChange> Changes, string? Reason, string? PreviousHash, string? Hash);

public sealed record Verification(
    bool Intact, long RecordsChecked, long HeadSequence, long? FirstBadSequence, string? Problem,
    int CheckpointsChecked, long? NewestCheckpointSequence, DateTimeOffset? NewestCheckpointAt, long? SecondsSinceNewestCheckpoint, long? RecordsAfterNewestCheckpoint);

public sealed record ListSummary(string Commitment, string Source, string? Algorithm, DateTimeOffset ActivatedAt, string ActivatedBy, IReadOnlyDictionary<string, int> SlotsPerStratum, IReadOnlyDictionary<string, int> UsedPerStratum, string? Seed, string? CommitmentSalt = null, int? PublicSlotsPerStratum = null, IReadOnlyDictionary<string, int>? UsablePerStratum = null);

public sealed record PinStatus(string UserId, bool PinSet, int Failures, bool Locked, bool? PhoneVerified);

public sealed record TokenAnswer(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, string UserId);

/// <summary>Your SMS phone: the verified number (null until one is) and a number waiting for the code texted to it.</summary>
public sealed record SmsPhone(string UserId, string? Phone, DateTimeOffset? VerifiedAt, string? PendingPhone, DateTimeOffset? CodeExpiresAt, int? AttemptsLeft);
