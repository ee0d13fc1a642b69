using Iwrs.Domain.Studies;

namespace Iwrs.Simulate.Tests;

/// <summary>The seed study files, read the way the simulator reads them.</summary>
internal static class SimulatedStudies
{
    public static StudyConfiguration Lj { get; } = Load("studies/lj-mcrc.json");

    public static StudyConfiguration Akk { get; } = Load("studies/akk-mcrc.json");

    public static StudyConfiguration Load(string path, int? trigger = null, int? maximum = null)
    {
        var (study, error) = StudyFile.Load(path, trigger, maximum);
        return study ?? throw new InvalidOperationException(error);
    }
}
