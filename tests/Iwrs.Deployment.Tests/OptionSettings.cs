using System.Reflection;
using Iwrs.Functions;

namespace Iwrs.Deployment.Tests;

/// <summary>The settings the app binds: every public settable property of each options class with a <c>Section</c> constant, by path.</summary>
public static class OptionSettings
{
    public static IReadOnlyList<string> All() =>
        typeof(IwrsApp).Assembly.GetTypes()
            .Select(t => (Type: t, Section: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(t => t.Section is not null)
            .SelectMany(t => Leaves(t.Type, t.Section!))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static IEnumerable<string> Leaves(Type type, string prefix) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .SelectMany(p => IsLeaf(p.PropertyType) ? [$"{prefix}:{p.Name}"] : Leaves(p.PropertyType, $"{prefix}:{p.Name}"));

    private static bool IsLeaf(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(decimal)
        || Nullable.GetUnderlyingType(type) is not null || type.IsAssignableTo(typeof(System.Collections.IEnumerable));
}
