using Allocation.Grains;
using Allocation.Grains.Children;
using Allocation.Grains.SocialWorkers;
using Allocation.Service.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace Allocation.Tests.Persistence;

/// <summary>The stored format of grain state: Orleans' binary behind a marker, with rows of the earlier JSON format still read.</summary>
public class BinaryGrainStorageSerializerTests
{
    public static readonly Serializer Orleans = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    public static readonly IGrainStorageSerializer Json =
        new SystemTextJsonGrainStorageSerializer(Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));

    public static readonly BinaryGrainStorageSerializer Binary = new(Orleans, Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));

    private static readonly DateTimeOffset At = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public void A_child_is_stored_in_the_binary_format_and_read_back_whole()
    {
        var child = Child();

        var payload = Binary.Serialize(child);
        var read = Binary.Deserialize<ChildState>(payload)!;

        Assert.True(BinaryGrainStorageSerializer.IsBinary(payload.ToMemory().Span));
        Assert.Equal(Json.Serialize(child).ToString(), Json.Serialize(read).ToString());
        Assert.Null(read.Receipting);
        Assert.Null(read.Closing);
    }

    [Fact]
    public void A_workers_row_carries_none_of_the_receipts_its_write_stores_as_rows()
    {
        var worker = Worker();
        worker.Receipting = [new CommandReceipt("leave-request-77", "leave", At, "w-0042", "team-north-1", 0, "pm-2")];

        var read = Binary.Deserialize<SocialWorkerState>(Binary.Serialize(worker))!;

        Assert.Null(read.Receipting);
        Assert.DoesNotContain("leave-request-77", Json.Serialize(worker).ToString());
        Assert.Equal("r-9", Assert.Single(read.Receipts!).RequestId); // an earlier version's, still read
    }

    [Fact]
    public void A_row_written_as_json_by_the_earlier_version_is_still_read()
    {
        var child = Child();
        var worker = Worker();

        var childRead = Binary.Deserialize<ChildState>(Json.Serialize(child))!;
        var workerRead = Binary.Deserialize<SocialWorkerState>(Json.Serialize(worker))!;

        Assert.Equal(Json.Serialize(child).ToString(), Json.Serialize(childRead).ToString());
        Assert.Equal(Json.Serialize(worker).ToString(), Json.Serialize(workerRead).ToString());
    }

    [Fact]
    public void The_binary_rows_are_well_under_the_size_of_the_json()
    {
        var (child, worker) = (Child(), Worker());
        var sizes = (Binary.Serialize(child).ToMemory().Length, Json.Serialize(child).ToMemory().Length,
            Binary.Serialize(worker).ToMemory().Length, Json.Serialize(worker).ToMemory().Length);

        Assert.True(sizes.Item1 < sizes.Item2 * 0.6 && sizes.Item3 < sizes.Item4 * 0.6, $"child {sizes.Item1} against {sizes.Item2} bytes, worker {sizes.Item3} against {sizes.Item4}");
    }

    private static ChildState Child() => new()
    {
        Exists = true,
        Status = ChildStatus.Allocated,
        TeamId = "team-north-1",
        WorkerId = "w-0042",
        Episode = 2,
        ReferredAt = At,
        ClockStartedAt = At,
        Deadline = At.AddHours(24),
        ClockReason = "re-referral",
        ClockStoppedAt = At.AddHours(3),
        WorkerHistory =
        [
            new WorkerPeriod("w-0007", "team-north-1", At.AddMonths(-8), At.AddMonths(-2), "allocation", "pm-1", "closed"),
            new WorkerPeriod("w-0042", "team-north-1", At.AddHours(3), null, "allocation", "pm-2", null, new CeilingOverride("hos-1", "no one else")),
        ],
        LastWorkerId = "w-0042",
        WorkerChanges = 1,
        Transfers = [new TeamMove("team-south-2", "team-north-1", At.AddMonths(-9), "moved area", "pm-3")],
        Version = 9,
        CaseRecord = new CaseRecord(),
        PreviousReferredAt = At.AddMonths(-9),
        FamilyId = "fam-17",
        Receipting = [new CommandReceipt("r-1", "allocate", At, "w-0042", "team-north-1", 9, "pm-2")],
    };

    private static SocialWorkerState Worker()
    {
        var worker = new SocialWorkerState { Exists = true, Name = "Sam Okafor", TeamId = "team-north-1", Role = WorkerRole.SocialWorker, Fte = 0.8m };
        // An earlier version's worker row, which stored the places its children hold.
        worker.LegacyCaseload = new(StringComparer.Ordinal);
        for (var i = 0; i < 14; i++)
        {
            worker.LegacyCaseload[$"child-{i:0000}"] = new CaseEntry($"child-{i:0000}", At.AddDays(-i), $"r-{i}", null);
        }

        worker.Receipts = [new CommandReceipt("r-9", "reserve", At, "w-0042", "team-north-1", 3, "pm-2")]; // as an earlier version kept them
        return worker;
    }
}
