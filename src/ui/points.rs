//! The wgpu point renderer: `shaders/render/points.wgsl` drawn inside egui through an
//! `egui_wgpu` paint callback. The pipeline is built once; each map keeps its instance buffer,
//! re-uploaded only when its points or their styles change; the uniforms (camera) are written
//! every frame, so panning and zooming cost the same at any number of points.

use std::collections::HashMap;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use eframe::egui_wgpu::{self, wgpu};

pub const SHADER: &str = include_str!("../../shaders/render/points.wgsl");

/// One point as the shader reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct Instance {
    pub pos: [f32; 2],
    /// RGBA8, r in the low byte.
    pub color: u32,
    /// 1 selected, 2 search match, 4 neighbour.
    pub flags: u32,
}

pub const SELECTED: u32 = 1;
pub const MATCH: u32 = 2;
pub const NEIGHBOUR: u32 = 4;

pub fn pack(c: [u8; 4]) -> u32 {
    u32::from_le_bytes(c)
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Uniforms {
    center: [f32; 2],
    scale: [f32; 2],
    radius: [f32; 2],
    dim_unflagged: u32,
    px_per_clip: f32,
}

/// An instance buffer and what is in it.
struct Uploaded {
    buffer: wgpu::Buffer,
    capacity: usize,
    count: u32,
    /// Key of the uploaded data.
    key: u64,
}

impl Uploaded {
    fn new(device: &wgpu::Device) -> Uploaded {
        Uploaded {
            buffer: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("embedscope points instances"),
                size: 16,
                usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            capacity: 1,
            count: 0,
            key: u64::MAX,
        }
    }

    /// Uploads `data` when `key` differs from what the buffer holds.
    fn update(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, key: u64, data: &[Instance]) {
        if self.key == key {
            return;
        }
        let n = data.len();
        if n > self.capacity {
            let cap = n.next_power_of_two();
            self.buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("embedscope points instances"),
                size: (cap * std::mem::size_of::<Instance>()) as u64,
                usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.capacity = cap;
        }
        if n > 0 {
            queue.write_buffer(&self.buffer, 0, bytemuck::cast_slice(data));
        }
        self.count = n as u32;
        self.key = key;
    }

    fn draw(&self, pass: &mut wgpu::RenderPass<'static>) {
        if self.count == 0 {
            return;
        }
        pass.set_vertex_buffer(
            0,
            self.buffer
                .slice(..(self.count as u64 * std::mem::size_of::<Instance>() as u64)),
        );
        pass.draw(0..6, 0..self.count);
    }
}

struct MapBuffers {
    /// Every point (re-uploaded when the map or its colours change).
    base: Uploaded,
    /// The flagged points, drawn over the base.
    overlay: Uploaded,
    uniforms: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// Pipeline and per-map buffers, stored in egui_wgpu's callback resources.
pub struct Resources {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    maps: HashMap<u64, MapBuffers>,
}

/// Builds the pipeline once and stores it in the renderer's callback resources.
pub fn install(rs: &egui_wgpu::RenderState) {
    let device = &rs.device;
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("embedscope points"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("embedscope points uniforms"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }],
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("embedscope points"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("embedscope points"),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: &shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[Some(wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<Instance>() as u64,
                step_mode: wgpu::VertexStepMode::Instance,
                attributes: &wgpu::vertex_attr_array![0 => Float32x2, 1 => Uint32, 2 => Uint32],
            })],
        },
        fragment: Some(wgpu::FragmentState {
            module: &shader,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: rs.target_format,
                blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        multiview_mask: None,
        cache: None,
    });
    rs.renderer.write().callback_resources.insert(Resources {
        pipeline,
        layout,
        maps: HashMap::new(),
    });
}

/// What one map draws this frame.
pub struct PointsCallback {
    pub map_id: u64,
    /// Key of `instances`; the buffer is re-uploaded when it changes.
    pub key: u64,
    pub instances: Arc<Vec<Instance>>,
    /// Key of `overlay`, points drawn over `instances` (the flagged ones).
    pub overlay_key: u64,
    pub overlay: Arc<Vec<Instance>>,
    pub center: [f32; 2],
    /// Points (logical pixels) per map unit.
    pub zoom: f32,
    /// The map rect's size in points, and pixels per point.
    pub size: [f32; 2],
    pub pixels_per_point: f32,
    pub radius_points: f32,
    pub dim_unflagged: bool,
}

impl egui_wgpu::CallbackTrait for PointsCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<Resources>() else {
            return Vec::new();
        };
        let layout = &res.layout;
        let entry = res.maps.entry(self.map_id).or_insert_with(|| {
            let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("embedscope points uniforms"),
                size: std::mem::size_of::<Uniforms>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("embedscope points"),
                layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniforms.as_entire_binding(),
                }],
            });
            MapBuffers {
                base: Uploaded::new(device),
                overlay: Uploaded::new(device),
                uniforms,
                bind_group,
            }
        });
        entry
            .base
            .update(device, queue, self.key, self.instances.as_slice());
        entry
            .overlay
            .update(device, queue, self.overlay_key, self.overlay.as_slice());
        let half = [self.size[0].max(1.0) / 2.0, self.size[1].max(1.0) / 2.0];
        let u = Uniforms {
            center: self.center,
            scale: [self.zoom / half[0], self.zoom / half[1]],
            radius: [self.radius_points / half[0], self.radius_points / half[1]],
            dim_unflagged: u32::from(self.dim_unflagged),
            px_per_clip: half[0] * self.pixels_per_point,
        };
        queue.write_buffer(&entry.uniforms, 0, bytemuck::bytes_of(&u));
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<Resources>() else {
            return;
        };
        let Some(m) = res.maps.get(&self.map_id) else {
            return;
        };
        if m.base.count == 0 && m.overlay.count == 0 {
            return;
        }
        pass.set_pipeline(&res.pipeline);
        pass.set_bind_group(0, &m.bind_group, &[]);
        m.base.draw(pass);
        m.overlay.draw(pass);
    }
}
