namespace Iwrs.Domain.Supply;

public enum ShipmentStatus { Requested, Dispatched, Received }

/// <summary>How a kit arrived, as the site's pharmacist reports it. Only <see cref="Ok"/> kits go on the shelf.</summary>
public enum KitCondition { Pending, Ok, Damaged, Missing }

public sealed record ShipmentKit(string KitNumber, string KitType, KitCondition Condition);

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
    DateTimeOffset? ReceivedAt)
{
    /// <summary>An entity-group transaction holds 100 operations: a shipment's kits (2 each) plus its own rows must fit.</summary>
    public const int MaxKits = 40;

    public static string Name(ShipmentStatus s) => s switch
    {
        ShipmentStatus.Requested => "requested",
        ShipmentStatus.Dispatched => "dispatched",
        _ => "received",
    };

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
    /// Applies a pharmacist's receipt of some kits. Reporting a kit again with the same condition changes
    /// nothing (a retried receipt is harmless); with a different condition it is refused. The shipment is received
    /// once every kit is accounted for.
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
        var complete = all.All(k => k.Condition != KitCondition.Pending);
        return (this with
        {
            Kits = all,
            Status = complete ? ShipmentStatus.Received : Status,
            ReceivedAt = complete && Status != ShipmentStatus.Received ? at : ReceivedAt,
        }, changed);
    }
}
