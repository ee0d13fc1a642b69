namespace Iwrs.Domain.Supply;

/// <summary>
/// Requested and dispatched by the depot; once every kit's condition is reported, received (its ok kits on the shelf,
/// all at once) or, when any kit was damaged or missing, awaiting the depot manager's release.
/// </summary>
public enum ShipmentStatus { Requested, Dispatched, AwaitingRelease, Received }

/// <summary>How a kit arrived, as the site's pharmacist reports it. Only <see cref="Ok"/> kits go on the shelf.</summary>
public enum KitCondition { Pending, Ok, Damaged, Missing }

/// <summary>A kit in a shipment; on subject packs, <paramref name="Starter"/> (the starter it belongs to) or <paramref name="PackFor"/> (the subject whose pack it is in).</summary>
public sealed record ShipmentKit(string KitNumber, string KitType, KitCondition Condition, StarterLabel? Starter = null, string? PackFor = null);

/// <summary>Kits on their way from the depot to one site.</summary>
public sealed record Shipment(
    string ShipmentId,
    string SiteId,
    ShipmentStatus Status,
    IReadOnlyList<ShipmentKit> Kits,
    string Reason,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? DispatchedAt,
    DateTimeOffset? ReceivedAt,
    DateTimeOffset? ReleasedAt = null)
{
    /// <summary>An entity-group transaction holds 100 operations: a shipment's kits (2 each) plus its own rows must fit.</summary>
    public const int MaxKits = 40;

    public static string Name(ShipmentStatus s) => s switch
    {
        ShipmentStatus.Requested => "requested",
        ShipmentStatus.Dispatched => "dispatched",
        ShipmentStatus.AwaitingRelease => "awaiting-release",
        _ => "received",
    };

    /// <summary>Whether the shipment's kits may still be on their way to the shelf (not yet released).</summary>
    public bool IsOpen => Status != ShipmentStatus.Received;

    public static string Name(KitCondition c) => c switch
    {
        KitCondition.Pending => "pending",
        KitCondition.Ok => "ok",
        KitCondition.Damaged => "damaged",
        _ => "missing",
    };

    public static bool TryParseCondition(string? value, out KitCondition condition)
    {
        condition = value switch
        {
            "ok" => KitCondition.Ok,
            "damaged" => KitCondition.Damaged,
            "missing" => KitCondition.Missing,
            _ => KitCondition.Pending,
        };
        return condition != KitCondition.Pending;
    }

    /// <summary>
    /// Applies a pharmacist's receipt of some kits. Reporting a kit again with the same condition changes nothing (a
    /// retried receipt is harmless); with a different condition it is refused. Kits become dispensable by whole
    /// shipments only: once every kit is accounted for, a shipment whose kits are all ok is received and released at
    /// once; one with a kit reported damaged or missing waits for the depot manager's <see cref="Release"/>. A blinded
    /// report can therefore never make an arbitrary subset of kits dispensable.
    /// </summary>
    public Result<(Shipment Shipment, IReadOnlyList<ShipmentKit> Changed)> Receive(IReadOnlyList<(string KitNumber, KitCondition Condition)> receipt, DateTimeOffset at)
    {
        if (Status == ShipmentStatus.Requested)
        {
            return new DomainError("shipment-not-dispatched", $"Shipment '{ShipmentId}' has not been dispatched yet.");
        }

        var errors = new List<FieldError>();
        var kits = Kits.ToDictionary(k => k.KitNumber);
        var changed = new List<ShipmentKit>();
        for (var i = 0; i < receipt.Count; i++)
        {
            var (number, condition) = receipt[i];
            if (!kits.TryGetValue(number, out var kit))
            {
                errors.Add(new FieldError($"kits[{i}].kitNumber", $"kit '{number}' is not in shipment '{ShipmentId}'."));
            }
            else if (kit.Condition == KitCondition.Pending)
            {
                kits[number] = kit with { Condition = condition };
                changed.Add(kits[number]);
            }
            else if (kit.Condition != condition)
            {
                errors.Add(new FieldError($"kits[{i}].condition", $"kit '{number}' was already received as {Name(kit.Condition)}."));
            }
        }

        if (errors.Count > 0)
        {
            return DomainError.Validation(errors, "The receipt does not match the shipment.");
        }

        var all = Kits.Select(k => kits[k.KitNumber]).ToList();
        if (Status != ShipmentStatus.Dispatched || all.Any(k => k.Condition == KitCondition.Pending))
        {
            return (this with { Kits = all }, changed);
        }

        var clean = all.All(k => k.Condition == KitCondition.Ok);
        return (this with
        {
            Kits = all,
            Status = clean ? ShipmentStatus.Received : ShipmentStatus.AwaitingRelease,
            ReceivedAt = at,
            ReleasedAt = clean ? at : null,
        }, changed);
    }

    /// <summary>The depot manager releases a shipment that had damaged or missing kits: its ok kits go on the shelf.</summary>
    public Result<Shipment> Release(DateTimeOffset at) => Status switch
    {
        ShipmentStatus.AwaitingRelease => this with { Status = ShipmentStatus.Received, ReleasedAt = at },
        ShipmentStatus.Received => new DomainError("shipment-already-released", $"Shipment '{ShipmentId}' is already on the shelf."),
        _ => new DomainError("shipment-not-received", $"Shipment '{ShipmentId}' can be released once every kit's condition is reported; it has been released automatically if every kit was ok."),
    };
}
